#!/usr/bin/env bash
# Set up, then serve the OpenAI-compatible API with the built-in offline default model.
set -euo pipefail
cd "$(dirname "$0")/.."
GAZO_EXTRAS=${GAZO_EXTRAS:-ray} bash scripts/setup.sh
exec .venv/bin/gazo serve "$@"
