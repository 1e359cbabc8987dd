// Reference outputs of a TF.js graph model, computed by TF.js itself (pure-JS CPU backend), once.
//
// Used by scripts/faceres_reference.py to check izde's own TF.js -> ONNX exporter; not part of the test run.
// Needs @tensorflow/tfjs installed next to this script's working directory (see faceres_reference.py).
//
// node tfjs_reference.mjs MODEL_JSON OUTPUT_NODE INPUT_RAW N H W MEAN_B,MEAN_G,MEAN_R OUT_JSON
//   INPUT_RAW: N*H*W*3 uint8 RGB pixels; the input is fed as float32, channels reversed to BGR, minus MEAN.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(join(process.cwd(), 'noop.js'));
const tf = require('@tensorflow/tfjs');

const [modelJson, outputNode, inputRaw, n, h, w, meanText, outJson] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(modelJson, 'utf8'));
const specs = doc.weightsManifest.flatMap((g) => g.weights);
const shards = doc.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelJson), p))));
const all = Buffer.concat(shards);
const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);

await tf.setBackend('cpu');
const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: doc.modelTopology, weightSpecs: specs, weightData }));
const pixels = new Uint8Array(readFileSync(inputRaw));
const shape = [Number(n), Number(h), Number(w), 3];
const mean = meanText.split(',').map(Number);
const x = tf.tidy(() => tf.reverse(tf.tensor4d(Float32Array.from(pixels), shape), -1).sub(tf.tensor1d(mean)));
const y = model.execute(x, outputNode);
const values = await y.array();
writeFileSync(outJson, JSON.stringify({ tfjs: tf.version.tfjs, backend: tf.getBackend(), output: outputNode, values }));
console.log(`wrote ${values.length} x ${values[0].length} values with tfjs ${tf.version.tfjs} (${tf.getBackend()})`);
