#!/usr/bin/env bash
# The newest releases: builds a virtual environment with the newest jax, jaxlib, flax, optax and orbax-checkpoint
# that resolve with this package's ranges (setup.py), then runs a representative part of the test suite there.
# CI (.ci/run) stays on the pinned versions of constraints.txt; run this before widening a range (docs/gpu.md).
#
#   scripts/check_newest.sh                      # ops, models, tracking and a training smoke test
#   scripts/check_newest.sh tests/ops -k xcorr   # other pytest arguments
#
# PYTHON (default: python3.12 on PATH, else pyenv's newest 3.12) and VENV (default: a folder under /tmp) override.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.12 >/dev/null; then
    PYTHON=python3.12
  elif command -v pyenv >/dev/null || [[ -d "${PYENV_ROOT:-$HOME/.pyenv}/versions" ]]; then
    PYTHON=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python 2>/dev/null | sort -V | tail -n 1)
  fi
fi
if [[ -z "${PYTHON:-}" ]]; then
  echo "check_newest.sh: no Python 3.12 found (JAX >= 0.11 needs Python >= 3.12); set PYTHON=/path/to/python3.12" >&2
  exit 2
fi
VENV=${VENV:-${TMPDIR:-/tmp}/automatch-newest-jax}

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q --upgrade --upgrade-strategy eager -e ".[test]" \
  jax jaxlib flax optax orbax-checkpoint
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md, sys
print("python", sys.version.split()[0], *(f"{n} {md.version(n)}" for n in
      ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy")))
PY
if [[ $# -eq 0 ]]; then
  set -- tests/ops tests/models tests/tracking tests/benchmarks \
    tests/train/test_train.py
fi
exec "$VENV/bin/python" -m pytest -q "$@"
