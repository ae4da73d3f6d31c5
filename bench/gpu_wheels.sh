#!/usr/bin/env bash
# Download into bench/wheels (or $1) every wheel bench/gpu_device.sh needs beyond PyTorch, for a GPU
# machine without network: the versions refgen pins, for CPython $PYVER (default: this Python's) on
# manylinux x86_64. PyTorch itself is not included (the GPU machine has its CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-bench/wheels}
PY=${PYTHON:-python3}
PYVER=${PYVER:-$("$PY" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')}
mkdir -p "$DEST"
"$PY" -m pip download --dest "$DEST" --no-deps --only-binary=:all: \
  --python-version "$PYVER" --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_28_x86_64 --platform any \
  "diffusers==0.42.1" "transformers==5.24.0" "accelerate==1.15.0" "tokenizers>=0.22,<0.23" \
  "huggingface_hub>=2.4,<3" "safetensors>=0.5" "torchao>=0.14" "ftfy>=6.2" "wcwidth" "regex" \
  "pyyaml" "tqdm" "filelock" "packaging" "psutil" "importlib_metadata" "zipp" "hf-xet" "httpx2" \
  "pillow" "numpy" "typer-slim" "click" "shellingham" "typing_extensions"
du -sh "$DEST"
