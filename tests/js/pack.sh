#!/usr/bin/env bash
# npm pack, install the tarball into an empty directory (registry access only), and run a
# ~10-line Node script that stores and reads a typed array and a commit; then the same install
# served statically and loaded in Chromium without a bundler (tests/js/pack.browser.mjs).
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
repo=$PWD
server=""
trap 'rm -rf "$tmp"; [ -z "$server" ] || kill "$server" 2>/dev/null' EXIT
tarball=$(npm pack --silent --pack-destination "$tmp" | tail -1)
cd "$tmp"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "./$tarball" >/dev/null
cat > check.mjs <<'JS'
import { open, openRepo } from "webstore";
const store = await open("demo");
await store.set("pixels", new Uint8ClampedArray([1, 2, 3]));
const pixels = await store.get("pixels");
const repo = await openRepo("demo");
const id = await repo.branch("main").set("todo/1", { text: "milk" }, { message: "add milk" });
const log = await repo.branch("main").history();
const ok = pixels instanceof Uint8ClampedArray && pixels[2] === 3 && log.entries[0].id === id;
console.log(ok ? `pack ok: ${store.backend}, commit ${id.slice(0, 12)}` : "pack FAILED");
process.exit(ok ? 0 : 1);
JS
node check.mjs
echo '<!doctype html><meta charset="utf-8"><title>app</title>' > index.html
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$repo/demo/serve.py" --port "$port" --root "$tmp" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/index.html" >/dev/null && break; sleep 0.1; done
cd "$repo" && node tests/js/pack.browser.mjs "http://127.0.0.1:$port"
