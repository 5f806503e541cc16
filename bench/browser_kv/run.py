#!/usr/bin/env python3
"""Headless Chromium, one page: raw IndexedDB vs idb-keyval vs localForage vs webstore.

10,000 values of 100 bytes (set then get) and one 64 MB Float64Array; prints best-of-3
milliseconds and ratios to raw IndexedDB. Run ``python3 wasm/build.py`` and ``npm ci`` first.
Usage: ``.venv/bin/python bench/browser_kv/run.py``.
"""

from __future__ import annotations

import functools
import http.server
import json
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TARGETS = {"webstore batched": 1.5, "webstore 64 MB": 1.3}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,  # noqa: RUF012
                      ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


def main() -> int:
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(ROOT)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/bench/browser_kv/page.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(600_000)
        page.goto(url)
        r = page.evaluate("window.benchResult")
        browser.close()
    httpd.shutdown()
    rows = [
        ("raw IndexedDB (1 tx)", r["raw_set"], r["raw_get"], r["raw_set"] + r["raw_get"]),
        ("idb-keyval setMany/getMany", r["idbkeyval_set"], r["idbkeyval_get"], None),
        ("localForage setItem/getItem loop", r["localforage_set"], r["localforage_get"], None),
        ("webstore set_many/get_many (Pyodide)", r["webstore_set"], r["webstore_get"], None),
        ("raw IndexedDB 64 MB Float64Array", r["raw_big_set"], r["raw_big_get"], None),
        ("webstore 64 MB Float64Array", r["webstore_big_set"], r["webstore_big_get"], None),
    ]
    base_small = r["raw_set"] + r["raw_get"]
    base_big = r["raw_big_set"] + r["raw_big_get"]
    print(f"{'10,000 x 100 B values / 64 MB array':40} {'set ms':>9} {'get ms':>9} "
          f"{'total':>9} {'x raw IDB':>10}")
    for i, (name, s, g, _) in enumerate(rows):
        base = base_small if i < 4 else base_big
        print(f"{name:40} {s:9.1f} {g:9.1f} {s + g:9.1f} {(s + g) / base:10.2f}")
    ws = (r["webstore_set"] + r["webstore_get"]) / base_small
    big = (r["webstore_big_set"] + r["webstore_big_get"]) / base_big
    lf = (r["localforage_set"] + r["localforage_get"]) / (r["webstore_set"] + r["webstore_get"])
    print(f"\ntargets: batched webstore {ws:.2f}x raw (<= 1.5), 64 MB {big:.2f}x raw (<= 1.3), "
          f"localForage loop / webstore = {lf:.1f}x (>= 10)")
    json.dump(r, sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
