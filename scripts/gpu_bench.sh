#!/usr/bin/env bash
# Descriptor throughput of the ONNX ResNet on the CUDA provider (TF32 off), at batch 256, plus the MMOD
# detector per image. Needs onnxruntime-gpu in place of onnxruntime and the shared data directory.
# Usage: scripts/gpu_bench.sh [DATA_DIR]   (default: $IZDE_DATA or ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
DATA="${1:-${IZDE_DATA:-../shared/data}}"
export IZDE_MODEL_CACHE="${IZDE_MODEL_CACHE:-$(mktemp -d)}"
"$PY" -c 'import onnxruntime as o, sys; p = o.get_available_providers(); print("providers:", p); sys.exit(0 if "CUDAExecutionProvider" in p else "no CUDAExecutionProvider: install onnxruntime-gpu")'
"$PY" -m izde.eval.bench_inference --data "$DATA" --device cuda --skip-dlib --batch-sizes 1,32,256 --repeats 20 \
  --json > gpu_bench.json
"$PY" - gpu_bench.json <<'PY'
import json
import sys

r = json.load(open(sys.argv[1]))
print("providers used:", r["providers"])
for d in r["descriptor"]:
    print(f"batch {d['batch']:4d}: {d['onnx_faces_per_s']:9.0f} descriptors/s ({d['onnx_ms_per_face']:.3f} ms/face)")
print("max L2 distance of descriptors to the CPU provider's:", r.get("max_l2_vs_cpu_provider"))
for m in r["mmod"]:
    print(
        f"MMOD {m['size']}: {m['onnx_ms']:.1f} ms/image; same boxes as on the CPU: "
        f"{m.get('same_boxes_as_cpu_provider')}, max score difference {m.get('max_score_diff_vs_cpu_provider')}"
    )
PY
# Cameras per machine with the networks on the GPU: the full-frame and motion-gated paths side by side, with the
# default BlazeFace detector and with MMOD (both ONNX, so both run on the GPU; HOG would not), and the live cameras
# benchmark (four 720p MJPEG crowd cameras in one process).
IZDE_VISION__ONNX_DEVICE=cuda "$PY" -c "from izde.cli.main import main; main()" bench capacity --data "$DATA" \
  --also threads=0 --also describe_ahead=true,detect_ahead=true --out gpu_capacity_blazeface.json
IZDE_VISION__ONNX_DEVICE=cuda IZDE_VISION__DETECTOR=mmod "$PY" -c "from izde.cli.main import main; main()" bench capacity --data "$DATA" \
  --out gpu_capacity_mmod.json
IZDE_VISION__ONNX_DEVICE=cuda "$PY" -c "from izde.cli.main import main; main()" bench cameras --data "$DATA" -n 8 --live 20 \
  --no-files --out gpu_cameras_live.json
