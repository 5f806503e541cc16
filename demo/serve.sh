#!/usr/bin/env bash
# The README's main-job command: install, build, serve the demo on 127.0.0.1 until Ctrl-C.
#   bash demo/serve.sh [--port N] [--no-install]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" != "--no-install" ]]; then
  if ! command -v lighttpd >/dev/null && [ "$(id -u)" = 0 ]; then  # the demo's Git remote
    apt-get update -qq && apt-get install -y -qq --no-install-recommends lighttpd >/dev/null
  fi
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -e .
  npm ci --no-audit --no-fund --loglevel=error
  python3 wasm/build.py >/dev/null
else
  shift
fi
exec python3 demo/serve.py "$@"
