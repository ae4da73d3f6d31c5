#!/usr/bin/env bash
# One prepared GPU run, no downloads: full-size Wan2.1-VACE-14B and FLUX.2 klein 4B built from their
# published configs (bench/configs) with random weights on the GPU; prints s/step, end-to-end seconds
# and peak memory for 480p and 720p, plain and fast tier (see bench/gpu_device.py).
#
#   bench/gpu_wheels.sh            # where there is network: the wheels it needs beyond PyTorch
#   bench/gpu_device.sh            # on the GPU machine (bench/wheels travels with the tree)
#   bench/gpu_device.sh --tiny --device cpu --no-compile   # a CPU smoke run of the same code
#
# Fits in 10 minutes: the run stops starting rows after --budget seconds (540 by default) and the
# whole script is killed at 590 s. Extra arguments go to bench/gpu_device.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=${REFGEN_WHEELS:-bench/wheels}
missing=$("$PY" -c 'import importlib.util as u; print(" ".join(m for m in ("diffusers", "transformers", "accelerate", "tokenizers", "torchao") if u.find_spec(m) is None))')
if [ -n "$missing" ]; then
  if compgen -G "$WHEELS/*.whl" > /dev/null; then
    echo "# installing from $WHEELS (missing: $missing)" >&2
    "$PY" -m pip install --quiet --no-index --no-deps "$WHEELS"/*.whl >&2
  else
    echo "# missing: $missing, and no wheels in $WHEELS (run bench/gpu_wheels.sh where there is network)" >&2
  fi
fi
"$PY" -c 'import torch; print("# torch", torch.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name())' >&2
exec timeout 590 "$PY" bench/gpu_device.py "$@"
