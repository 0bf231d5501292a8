#!/usr/bin/env bash
# Create .venv (if needed) and install gazo with its pinned dependencies.
# torch is installed first, pinned, so nothing else can pull a different (multi-GB) build.
# CPU-only machines without a local wheel: export PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip 2>&1 | { grep -v '^WARNING: Location' || true; }
pip install -q "torch==2.13.0" 2>&1 | { grep -v '^WARNING: Location' || true; }
pip install -q -e ".[${GAZO_EXTRAS:-test,ray}]" 2>&1 | { grep -v '^WARNING: Location' || true; }
# Only for its CLIP BPE vocabulary (tiny test pipelines): with its dependencies it would pull torchvision.
pip install -q --no-deps "open_clip_torch==3.3.0" 2>&1 | { grep -v '^WARNING: Location' || true; }
# The Node SDK tests' packages (tests/node): `npm ci` from the lock when node_modules is missing or older.
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [ tests/node/package-lock.json -nt tests/node/node_modules/.package-lock.json ]; then
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
else
  echo "setup: no node/npm, so the Node SDK tests (marker \`node\`) will fail: apt-get install nodejs npm" >&2
fi
python -c "import gazo, torch, diffusers; print('gazo', gazo.__version__, '| torch', torch.__version__, '| diffusers', diffusers.__version__)"
