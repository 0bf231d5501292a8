#!/usr/bin/env bash
# Set up, then run the linters and the whole test suite (real servers, official openai SDK).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1
ruff check src tests bench
lint-imports
python -m pytest -q "$@"
