#!/usr/bin/env bash
# The newest releases: builds a fresh virtual environment (emptied first) with the newest jax, jaxlib, flax, optax
# and orbax-checkpoint that resolve with this package's ranges (setup.py), plus vot-toolkit as CI installs it, then
# runs the whole test suite there with CI's pytest command (.ci/run: python -m pytest -q -n 2).
# CI (.ci/run) stays on the pinned versions of constraints.txt; run this before widening a range (docs/gpu.md).
#
#   scripts/check_newest.sh                      # the whole suite, as CI runs it
#   scripts/check_newest.sh tests/ops -k xcorr   # other pytest arguments instead
#   PYTHON=$(pyenv root)/versions/3.13.0/bin/python scripts/check_newest.sh   # on Python 3.13
#
# PYTHON: the interpreter (default: pyenv's newest 3.12, else python3.12 on PATH; JAX >= 0.11 needs >= 3.12).
# VENV: the environment's folder (default: automatch-newest-jax-py<major.minor> under $TMPDIR or /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

if [[ -z "${PYTHON:-}" ]]; then
  PYENV_VERSIONS="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")/versions"
  PYTHON=$(ls -d "$PYENV_VERSIONS"/3.12*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z "$PYTHON" ]] && command -v python3.12 >/dev/null; then
    PYTHON=python3.12
  fi
fi
if [[ -z "${PYTHON:-}" ]]; then
  echo "check_newest.sh: no Python 3.12 found (JAX >= 0.11 needs Python >= 3.12); set PYTHON=/path/to/python3.12" >&2
  exit 2
fi
PY_VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV=${VENV:-${TMPDIR:-/tmp}/automatch-newest-jax-py$PY_VERSION}

"$PYTHON" -m venv --clear "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q --upgrade --upgrade-strategy eager -e ".[test]" \
  jax jaxlib flax optax orbax-checkpoint
"$VENV/bin/python" -m pip install -q --no-deps vot-toolkit==0.9.0  # as .ci/run: its reference parity tests
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md, sys
print("python", sys.version.split()[0], *(f"{n} {md.version(n)}" for n in
      ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy")))
PY
if [[ $# -eq 0 ]]; then
  set -- -n 2  # the whole suite in two workers: .ci/run's pytest line
fi
exec "$VENV/bin/python" -m pytest -q "$@"
