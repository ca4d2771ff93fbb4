#!/usr/bin/env bash
# Install the app's dependencies and start it; with no key configured it runs on the built-in sandbox.
#   bash scripts/start.sh [streamlit args, e.g. --server.port 8600]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
# serve.py starts the task engine with the process, so work goes on with no tab open
exec .venv/bin/python serve.py "$@"
