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
python -c "import gazo, torch, diffusers; print('gazo', gazo.__version__, '| torch', torch.__version__, '| diffusers', diffusers.__version__)"
