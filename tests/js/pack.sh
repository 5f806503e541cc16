#!/usr/bin/env bash
# npm pack, install the tarball into an empty directory (registry access only), and run a
# ~10-line Node script that stores and reads a typed array and a commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
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
