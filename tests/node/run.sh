#!/usr/bin/env bash
# Conformance suite + Hypothesis state machine inside Pyodide under Node (see run.mjs).
# Builds wasm/dist first unless WEBSTORE_SKIP_BUILD=1. Exit status non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d node_modules/pyodide ] || npm ci --no-audit --no-fund
if [ "${WEBSTORE_SKIP_BUILD:-0}" != "1" ] || [ ! -f wasm/dist/pyodide-lock-test.json ]; then
  python3 wasm/build.py
fi
mkdir -p tests/artifacts
status=0
node tests/node/run.mjs --examples "${WEBSTORE_EXAMPLES:-60}" --json tests/artifacts/node.json || status=1
node tests/node/run.mjs --pure-msgpack --examples 20 --json tests/artifacts/node-puremsgpack.json || status=1
node tests/node/in_worker.mjs --examples 20 --json tests/artifacts/node-worker.json || status=1
exit $status
