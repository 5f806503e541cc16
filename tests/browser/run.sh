#!/usr/bin/env bash
# The in-Pyodide suite in Chromium, Firefox ESR (Playwright 1.64.1) and WebKitGTK (Selenium),
# every engine x {indexeddb, localstorage, memory, auto}, plus fallback/persistence/quota tests.
# Installs the Debian browsers and the Python test deps when missing (never `playwright
# install`). Builds wasm/dist unless WEBSTORE_SKIP_BUILD=1. Fails if any engine did not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
command -v chromium >/dev/null || missing+=(chromium chromium-driver)
command -v firefox-esr >/dev/null || missing+=(firefox-esr)
command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null || missing+=(xvfb xauth)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
PY=${PYTHON:-.venv/bin/python}
"$PY" -c "import playwright, selenium, pytest" 2>/dev/null \
  || "$PY" -m pip install -q "playwright==1.64.1" pytest-playwright "selenium>=4.20"
[ -d node_modules/pyodide ] || npm ci --no-audit --no-fund
if [ "${WEBSTORE_SKIP_BUILD:-0}" != "1" ] || [ ! -f wasm/dist/pyodide-lock-test.json ]; then
  python3 wasm/build.py
fi
export WEBSTORE_ENGINES=${WEBSTORE_ENGINES:-chromium,firefox,webkit}
exec xvfb-run -a "$PY" -m pytest tests/browser -p no:cacheprovider -q "$@"
