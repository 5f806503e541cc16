#!/usr/bin/env bash
# Every JS-side check: node --test (Node 20, memory backend), tsc --noEmit of consumer.ts,
# npm pack + install + Node script, Vite build + run in Chromium, the demo in Chromium and
# Firefox (screenshots in tests/artifacts/). Exits non-zero on any failure; never skips.
set -uo pipefail
cd "$(dirname "$0")/../.."
[[ -d wasm/dist ]] || python3 wasm/build.py >/dev/null
results=()
fail=0
step() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then results+=("PASS $name"); else results+=("FAIL $name"); fail=1; fi
}
step "node --test tests/js/" node --test tests/js/
step "tsc --noEmit consumer.ts" npx --no-install tsc -p tests/js/tsconfig.json
step "npm pack + install + node script" bash tests/js/pack.sh
step "vite build" npx --no-install vite build -c tests/js/vite-app/vite.config.js
step "vite app in chromium" node tests/js/vite.browser.mjs
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 demo/serve.py --port "$port" >/tmp/webstore-demo-serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/demo/" >/dev/null && break; sleep 0.1; done
step "demo in chromium" node tests/js/demo.browser.mjs "http://127.0.0.1:$port" chromium
step "demo in firefox" node tests/js/demo.browser.mjs "http://127.0.0.1:$port" firefox
step "worker mode in chromium and firefox" node tests/js/worker.browser.mjs
echo "== summary"
printf '%s\n' "${results[@]}"
exit $fail
