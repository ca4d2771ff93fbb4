#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run the whole suite.
#   bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium for the one real-browser test (Playwright's own browser download cannot work here).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

# Debian's PostgreSQL server binaries: the store's tests start their own throwaway cluster (tests/databases.py).
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

.venv/bin/python -m ruff check .
# Four worker processes on two cores: the tests wait on the sandbox and the engine as much as they
# compute (the whole suite took 9 min 37 s with three, 8 min 26 s with four). Each module stays in one
# process, so its fixtures are shared as written, and the modules are handed out in the order
# tests/conftest.py collects them: the long browser and process modules first.
# TEST_WORKERS=0 runs everything in this process.
.venv/bin/python -m pytest -n "${TEST_WORKERS:-4}" --dist loadfile --no-loadscope-reorder "$@"
