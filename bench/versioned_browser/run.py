#!/usr/bin/env python3
"""Headless Chromium, one page: webstore's versioned store vs isomorphic-git, by repo size.

webstore (Pyodide, IndexedDB): commit of one change (cold parse cache), diff with 10 changes,
three-way merge, at 1k / 10k / 100k keys in a 3-level hierarchy. isomorphic-git on
lightning-fs (IndexedDB): write one file, ``git add``, ``git commit`` at the same sizes.
Both load from the repo's ``node_modules`` (no CDN). Prints medians and ratios against the
targets: commit at 100k <= 3x at 1k; diff within 2x across sizes; webstore commit >= 10x
faster than isomorphic-git at 10k.

isomorphic-git runs at 1k and 10k by default: building its 10k repo (10k files written to
lightning-fs, ``git add`` of all, a commit) took 110 s here, and the 100k build had not
finished after 44 minutes (``--git-sizes 1000,10000,100000`` to try it anyway).

Run ``python3 wasm/build.py`` and ``npm install`` first.
Usage: ``.venv/bin/python bench/versioned_browser/run.py [--sizes 1000,10000,100000]
[--git-sizes 1000,10000] [--rounds 9] [--git-rounds 5]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


BUFFER_PATH = "/bench/versioned_browser/buffer.js"


def buffer_bundle() -> bytes:
    """isomorphic-git needs a global ``Buffer`` in browsers: bundle npm ``buffer`` with the
    esbuild already in node_modules (at bench time; nothing is fetched)."""
    entry = 'import { Buffer } from "buffer"; globalThis.Buffer = Buffer;'
    return subprocess.run([str(ROOT / "node_modules" / ".bin" / "esbuild"), "--bundle",
                           "--format=iife", "--minify"], input=entry.encode(), cwd=ROOT,
                          capture_output=True, check=True).stdout


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,  # noqa: RUF012
                      ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".json": "application/json",
                      ".whl": "application/zip"}
    buffer_js = b""

    def do_GET(self) -> None:
        if self.path == BUFFER_PATH:
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(self.buffer_js)))
            self.end_headers()
            self.wfile.write(self.buffer_js)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=sizes, default=[1000, 10000, 100000])
    parser.add_argument("--git-sizes", type=sizes, default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--git-rounds", type=int, default=5)
    args = parser.parse_args()
    Handler.buffer_js = buffer_bundle()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(ROOT)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/bench/versioned_browser/page.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(3_600_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.evaluate("window.bench.ready")
        t = time.perf_counter()
        ws = page.evaluate("([s, r]) => window.bench.webstore(s, r)", [args.sizes, args.rounds])
        print(f"  (webstore measured in {time.perf_counter() - t:.0f} s; build s: "
              f"{ {n: round(v, 1) for n, v in ws['build_s'].items()} })", flush=True)
        t = time.perf_counter()
        ig = page.evaluate("([s, r]) => window.bench.isogit(s, r)",
                           [args.git_sizes, args.git_rounds])
        print(f"  (isomorphic-git measured in {time.perf_counter() - t:.0f} s; build s: "
              f"{ {n: round(v, 1) for n, v in ig['build_s'].items()} })", flush=True)
        browser.close()
    httpd.shutdown()
    if errors:
        print("page errors:", errors)
    report(args.sizes, ws["ms"], ig["ms"])
    json.dump({"webstore": ws, "isomorphic_git": ig}, sys.stderr)
    return 0


def report(ns: list[int], ws: dict, ig: dict) -> None:
    first = ws[str(ns[0])]
    print("\nHeadless Chromium, IndexedDB: median ms per operation")
    print(f"{'keys':>8} {'ws commit':>10} {'ws warm':>8} {'ws diff':>8} {'diff warm':>9}"
          f" {'ws merge':>9} {'git commit':>11} {'commit/1k':>10} {'diff/1k':>8}"
          f" {'git/ws commit':>14}")
    for n in ns:
        r = ws[str(n)]
        g = ig.get(str(n), {}).get("commit")
        gtxt = f"{g:11.1f}" if g is not None else f"{'-':>11}"
        ratio = f"{g / r['commit']:14.1f}" if g is not None else f"{'-':>14}"
        print(f"{n:>8} {r['commit']:10.2f} {r['commit_warm']:8.2f} {r['diff']:8.2f}"
              f" {r['diff_warm']:9.2f} {r['merge']:9.2f} {gtxt}"
              f" {r['commit'] / first['commit']:10.2f} {r['diff'] / first['diff']:8.2f} {ratio}")
    last = ws[str(ns[-1])]
    c = last["commit"] / first["commit"]
    print(f"\ncommit at {ns[-1]} / at {ns[0]} = {c:.2f} ({'PASS' if c <= 3 else 'FAIL'} <= 3)")
    for kind in ("diff", "diff_warm"):
        vals = [ws[str(n)][kind] for n in ns]
        q = max(vals) / min(vals)
        print(f"{kind}: max/min across sizes = {q:.2f} ({'PASS' if q <= 2 else 'FAIL'} <= 2)")
    if "10000" in ig and "10000" in ws:
        q = ig["10000"]["commit"] / ws["10000"]["commit"]
        print(f"isomorphic-git / webstore commit at 10k = {q:.1f}x "
              f"({'PASS' if q >= 10 else 'FAIL'} >= 10)")


if __name__ == "__main__":
    sys.exit(main())
