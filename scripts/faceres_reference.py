"""Computes the FaceRes reference outputs that tests/vision/test_faceres.py checks izde's exporter against.

Run once, by hand, when the pinned package or the exporter's input handling changes; not part of the test run:

    mkdir -p /tmp/tfjs && (cd /tmp/tfjs && npm init -y && npm install @tensorflow/tfjs@4.22.0)
    .venv/bin/izde models build
    .venv/bin/python scripts/faceres_reference.py --tfjs /tmp/tfjs

TF.js itself (the pure-JS CPU backend in Node.js, no native binary) runs the package's graph model on a few
LFW dev-train faces: a fixed centre crop of each 250x250 photo (rows and columns 13..236, no resampling, so
the input depends only on JPEG decoding), with the network's own input handling (BGR, ImageNet means)
done by TF.js ops. The outputs are written, as float32 base64, to tests/vision/data/faceres_reference.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from izde.vision import faceres
from izde.vision.images import read_image_file
from izde.vision.npm_weights import HUMAN

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ("Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Aaron_Peirsol/Aaron_Peirsol_0002.jpg", "Abdullah/Abdullah_0001.jpg")
CROP = slice(13, 237)
OUT = ROOT / "tests" / "vision" / "data" / "faceres_reference.json"


def centre_crops(lfw: Path) -> np.ndarray:
    return np.stack([read_image_file(lfw / rel)[0][CROP, CROP] for rel in IMAGES])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tfjs", type=Path, required=True, help="folder where @tensorflow/tfjs is installed")
    ap.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "data" / "lfw-devtrain")
    args = ap.parse_args()
    model = faceres.ensure_faceres(fetch=False)
    model_json = faceres.npm_dir() / model.tarball.name.removesuffix(".tgz") / "faceres.json"
    x = centre_crops(args.lfw)
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "in.raw", Path(tmp) / "out.json"
        x.tofile(raw)
        n, h, w, _ = x.shape
        mean = ",".join(str(m) for m in faceres.PREP.mean)
        cmd = ["node", str(ROOT / "scripts" / "tfjs_reference.mjs"), str(model_json), faceres.OUTPUT_NODE]
        subprocess.run([*cmd, str(raw), str(n), str(h), str(w), mean, str(out)], check=True, cwd=args.tfjs)
        result = json.loads(out.read_text())
    values = np.asarray(result["values"], np.float32)
    doc = {
        "package": HUMAN.spec,
        "package_sha256": HUMAN.sha256,
        "output": faceres.OUTPUT_NODE,
        "computed_by": f"@tensorflow/tfjs {result['tfjs']} ({result['backend']} backend) in Node.js",
        "input": "rows and columns 13..236 of each 250x250 LFW dev-train photo, uint8 RGB",
        "images": list(IMAGES),
        "features_f32le_b64": [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in values],
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({len(values)} x {values.shape[1]})")


if __name__ == "__main__":
    main()
