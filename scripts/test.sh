#!/usr/bin/env bash
# Set up, then run the linters (ruff, the import contracts, mypy) and the whole test suite (real servers,
# official openai SDK).
#
#   bash scripts/test.sh [PYTEST ARGS]         everything (CI), or what the arguments select
#   bash scripts/test.sh --fast [PYTEST ARGS]  the inner loop, under 3 minutes on 2 cores: the request
#       path through one real server (edits, streaming, every error shape, a good generation among
#       them), then every test that starts no server and needs no Ray, browser or PostgreSQL;
#       failed-first, stops at the first failure; sets up .venv only when there is none. The markers
#       are set from what each test uses, in tests/support/needs.py.
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
fi
if [ "$fast" = 0 ] || [ ! -x .venv/bin/python ]; then
  bash scripts/setup.sh
fi
. .venv/bin/activate
export HF_HUB_OFFLINE=1
ruff check src tests bench
lint-imports
mypy  # over src/, as [tool.mypy] in pyproject.toml says
if [ "$fast" = 0 ]; then
  exec python -m pytest -q --durations=15 "$@"
fi
# The session's shared tiny-SD server serves all three modules: one start (~10 s) for the request path.
REQUEST_PATH=(tests/api/test_edits.py tests/api/test_streaming.py tests/api/test_error_shape.py)
python -m pytest -q -x --ff --durations=5 "${REQUEST_PATH[@]}" "$@"
python -m pytest -q -x --ff --durations=5 -m "not server and not ray and not browser and not postgres" "$@"
