#!/usr/bin/env python3
"""Headless Chromium, one page: raw IndexedDB vs idb-keyval vs localForage vs webstore.

10,000 values of 100 bytes (set then get) and one 64 MB Float64Array; prints best-of-3
milliseconds and ratios to raw IndexedDB. The machine may be shared and noisy, so
``--runs N`` loads the page N times (a fresh browser each) and prints the per-run target
ratios and the table of medians. Run ``python3 wasm/build.py`` and ``npm ci`` first.
Usage: ``.venv/bin/python bench/browser_kv/run.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import statistics
import sys
import threading
from pathlib import Path
from typing import Any

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


def measure(url: str) -> dict[str, float]:
    """One page load in a fresh headless Chromium: the page's timings in ms."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(600_000)
        page.goto(url)
        r: dict[str, float] = page.evaluate("window.benchResult")
        browser.close()
    return r


def ratios(r: dict[str, Any]) -> tuple[float, float, float]:
    """(batched webstore / raw, 64 MB webstore / raw, localForage loop / webstore)."""
    ws = (r["webstore_set"] + r["webstore_get"]) / (r["raw_set"] + r["raw_get"])
    big = (r["webstore_big_set"] + r["webstore_big_get"]) / (r["raw_big_set"] + r["raw_big_get"])
    lf = (r["localforage_set"] + r["localforage_get"]) / (r["webstore_set"] + r["webstore_get"])
    return ws, big, lf


def report(r: dict[str, float]) -> None:
    rows = [
        ("raw IndexedDB (1 tx)", r["raw_set"], r["raw_get"]),
        ("idb-keyval setMany/getMany", r["idbkeyval_set"], r["idbkeyval_get"]),
        ("localForage setItem/getItem loop", r["localforage_set"], r["localforage_get"]),
        ("webstore set_many/get_many (Pyodide)", r["webstore_set"], r["webstore_get"]),
        ("raw IndexedDB 64 MB Float64Array", r["raw_big_set"], r["raw_big_get"]),
        ("webstore 64 MB Float64Array", r["webstore_big_set"], r["webstore_big_get"]),
    ]
    base_small = r["raw_set"] + r["raw_get"]
    base_big = r["raw_big_set"] + r["raw_big_get"]
    print(f"{'10,000 x 100 B values / 64 MB array':40} {'set ms':>9} {'get ms':>9} "
          f"{'total':>9} {'x raw IDB':>10}")
    for i, (name, s, g) in enumerate(rows):
        base = base_small if i < 4 else base_big
        print(f"{name:40} {s:9.1f} {g:9.1f} {s + g:9.1f} {(s + g) / base:10.2f}")
    ws, big, lf = ratios(r)
    print(f"\ntargets: batched webstore {ws:.2f}x raw (<= 1.5), 64 MB {big:.2f}x raw (<= 1.3), "
          f"localForage loop / webstore = {lf:.1f}x (>= 10)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="page loads; medians are printed")
    runs = parser.parse_args().runs
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(ROOT)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/bench/browser_kv/page.html"
    results = []
    for i in range(runs):
        results.append(measure(url))
        ws, big, lf = ratios(results[-1])
        print(f"run {i + 1}/{runs}: batched {ws:.2f}x raw, 64 MB {big:.2f}x raw, "
              f"localForage/webstore {lf:.1f}x", flush=True)
    httpd.shutdown()
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    if runs > 1:
        print(f"\nmedian of {runs} runs (each cell separately):")
    report(median)
    json.dump(results, sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
