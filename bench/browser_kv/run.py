#!/usr/bin/env python3
"""Key-value speed in real browsers: raw IndexedDB / OPFS, idb-keyval, localForage, webstore.

Chromium and Firefox ESR (Playwright), WebKitGTK (Selenium + WebKitWebDriver, needs a display:
the script re-executes itself under ``xvfb-run -a`` when DISPLAY is unset). Each run starts a
fresh browser and profile per engine and loads ``page.html`` twice: the workloads of
``workloads.mjs`` in the page, then in a dedicated module worker. Prints per engine and
context the medians over the runs (ms) and the issue's target ratios; writes the medians to
``results-<date>.json`` here. Run ``python3 wasm/build.py`` and ``npm ci`` first.
Usage: ``.venv/bin/python bench/browser_kv/run.py --runs 3 [--small] [--engines chromium]``.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
TIMEOUT_S = 1200
CONTEXTS = ("page", "worker")
COLUMNS = ("small_set", "small_get", "big_set", "big_get")
LIBRARIES = ("raw IndexedDB", "raw OPFS", "idb-keyval", "localForage", "webstore JS API",
             "webstore Python", "webstore JS {worker: true}")  # workloads.mjs, in this order

Cell = float | str | None
Result = dict[str, Any]  # {"rows": {library: {column: Cell}}, "cold": {...}}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,  # noqa: RUF012
                      ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".json": "application/json",
                      ".whl": "application/zip", ".zip": "application/zip"}

    def log_message(self, *args: Any) -> None:
        pass


# -- one run: a fresh browser, the page then the worker context ----------------------------

def run_playwright(name: str, urls: list[str]) -> list[Result]:
    from playwright.sync_api import sync_playwright

    if name == "chromium":
        launch = {"executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}
    else:
        launch = {"channel": "moz-firefox", "executable_path": "/usr/bin/firefox-esr"}
    results = []
    with sync_playwright() as p:
        browser = getattr(p, name).launch(headless=True, **launch)
        context = browser.new_context()
        for url in urls:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_S * 1000)
            page.goto(url)
            results.append(page.evaluate("window.benchResult"))
            page.close()
        browser.close()
    return results


def run_webkit(urls: list[str]) -> list[Result]:
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.options import Options
    from selenium.webdriver.webkitgtk.service import Service

    options = Options()
    options.binary_location = MINIBROWSER
    options.add_argument("--automation")
    driver = webdriver.WebKitGTK(options=options, service=Service("/usr/bin/WebKitWebDriver"))
    try:
        driver.set_script_timeout(TIMEOUT_S)
        driver.set_page_load_timeout(120)
        results = []
        for url in urls:
            driver.get(url)
            got = driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "window.benchResult.then(v => done({ok: v}),"
                " e => done({error: String(e) + (e && e.stack ? '\\n' + e.stack : '')}));")
            if "error" in got:
                raise RuntimeError(f"webkit: {got['error']}")
            results.append(got["ok"])
            driver.get("about:blank")
        return results
    finally:
        driver.quit()


def measure(engine: str, base: str, n: int, mb: int) -> dict[str, Result]:
    urls = [f"{base}/bench/browser_kv/page.html?ctx={ctx}&n={n}&mb={mb}" for ctx in CONTEXTS]
    got = run_webkit(urls) if engine == "webkit" else run_playwright(engine, urls)
    return dict(zip(CONTEXTS, got, strict=True))


# -- medians, table, ratios ------------------------------------------------------------------

def median(cells: list[Cell]) -> Cell:
    """Median of the numbers; a run's "n/a"/"failed" text wins (never a number from fewer runs)."""
    texts = [c for c in cells if isinstance(c, str)]
    if texts:
        return texts[0]
    numbers = [c for c in cells if isinstance(c, int | float)]
    return statistics.median(numbers) if numbers else None


def medians(runs: list[Result]) -> Result:
    """One result of medians, cell by cell, from the results of several runs of one context."""
    rows = {name: {col: median([r["rows"][name].get(col) for r in runs])
                   for col in (*COLUMNS, "open")}
            for name in LIBRARIES if name in runs[0]["rows"]}
    cold = {key: median([r["cold"].get(key) for r in runs]) for key in runs[0]["cold"]}
    if all(isinstance(r["cold"].get(k), int | float) for r in runs
           for k in ("first_get", "bare_loadPyodide")):
        cold["overhead"] = median([r["cold"]["first_get"] - r["cold"]["bare_loadPyodide"]
                                   for r in runs])
    return {"rows": rows, "cold": cold}


def total(row: dict[str, Cell], prefix: str) -> Cell:
    a, b = row.get(f"{prefix}_set"), row.get(f"{prefix}_get")
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a + b
    return a if isinstance(a, str) else None


def ratio(a: Cell, b: Cell) -> str:
    if isinstance(a, int | float) and isinstance(b, int | float) and b:
        return f"{a / b:.2f}"
    return "n/a"


def ratios(m: Result) -> dict[str, str]:
    rows = m["rows"]
    raw_big = total(rows["raw IndexedDB"], "big")
    out = {
        "big set+get: webstore JS API / raw IndexedDB":
            ratio(total(rows["webstore JS API"], "big"), raw_big),
        "big set+get: webstore Python / raw IndexedDB":
            ratio(total(rows["webstore Python"], "big"), raw_big),
    }
    if "webstore JS {worker: true}" in rows:
        out["big set+get: webstore JS {worker: true} / raw IndexedDB"] = ratio(
            total(rows["webstore JS {worker: true}"], "big"), raw_big)
    out["setMany+getMany: webstore JS API / idb-keyval"] = ratio(
        total(rows["webstore JS API"], "small"), total(rows["idb-keyval"], "small"))
    overhead = m["cold"].get("overhead")
    out["cold start - bare loadPyodide (ms)"] = (f"{overhead:.0f}"
                                                 if isinstance(overhead, int | float) else "n/a")
    return out


def fmt(cell: Cell, width: int) -> str:
    if cell is None:
        return f"{'-':>{width}}"
    if isinstance(cell, str):
        return f"  {cell}"
    return f"{cell:{width}.0f}"


def report(title: str, m: Result, n: int, mb: int) -> None:
    print(f"\n{title}")
    small, big = f"{n:,} x 100 B set/get/total", f"{mb} MB Float64Array set/get/total"
    print(f"{'':30} {small:>26}   {big:>34}")
    for name, row in m["rows"].items():
        small = [row["small_set"], row["small_get"], total(row, "small")]
        big = [row["big_set"], row["big_get"], total(row, "big")]
        line = f"{name:30}"
        for cells in (small, big):
            text = [c for c in cells if isinstance(c, str)]
            line += f"  {text[0]:>32}" if text else "".join(fmt(c, 9) for c in cells) + "   " * 2
        print(line.rstrip())
    cold = m["cold"]
    if "error" in cold:
        print(f"cold start: failed ({cold['error']})")
    else:
        print(f"cold start: first webstore get {cold['first_get']:.0f} ms after the time origin; "
              f"bare loadPyodide (after it, same context) {cold['bare_loadPyodide']:.0f} ms; "
              f"difference {cold.get('overhead', float('nan')):.0f} ms (an upper bound: the bare "
              "load finds the files and compiled wasm cached)")
    boot = m["rows"].get("webstore JS {worker: true}", {}).get("open")
    if isinstance(boot, int | float):
        print(f"webstore {{worker: true}} open (worker boot, files cached): {boot:.0f} ms")
    for name, value in ratios(m).items():
        print(f"  {name}: {value}")


# -- main --------------------------------------------------------------------------------------

def versions() -> dict[str, str]:
    def first_line(cmd: list[str], pick: Callable[[str], bool] = lambda _: True) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
        except OSError as exc:
            return f"unknown ({exc})"
        return next((line for line in out.splitlines() if pick(line)), "unknown").strip()

    webkit = first_line(["dpkg-query", "-W", "libwebkit2gtk-4.1-0"])
    return {"chromium": first_line(["/usr/bin/chromium", "--version"]),
            "firefox": first_line(["/usr/bin/firefox-esr", "--version"]),
            "webkit": f"WebKitGTK {webkit.split()[-1]}" if webkit != "unknown" else webkit}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh browsers per engine (medians)")
    parser.add_argument("--engines", default="chromium,firefox,webkit")
    parser.add_argument("--small", action="store_true", help="1,000 values and 4 MB (to develop)")
    parser.add_argument("--no-json", action="store_true", help="do not write results-<date>.json")
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    if "webkit" in engines and not os.environ.get("DISPLAY"):
        os.execvp("xvfb-run", ["xvfb-run", "-a", sys.executable, *sys.argv])
    n, mb = (1000, 4) if args.small else (10000, 64)

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(ROOT)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    found: dict[str, dict[str, Result]] = {}
    try:
        for engine in engines:
            runs: list[dict[str, Result]] = []
            for i in range(args.runs):
                runs.append(measure(engine, base, n, mb))
                print(f"{engine}: run {i + 1}/{args.runs} done", flush=True)
            found[engine] = {ctx: medians([r[ctx] for r in runs]) for ctx in CONTEXTS}
            for ctx in CONTEXTS:
                report(f"{engine}, {ctx} (medians of {args.runs} runs, ms)", found[engine][ctx],
                       n, mb)
    finally:
        httpd.shutdown()

    if not args.no_json:
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        out = HERE / f"results-{today}.json"
        doc = {"date": today, "runs": args.runs, "n": n, "mb": mb, "versions": versions(),
               "medians_ms": found,
               "ratios": {e: {c: ratios(found[e][c]) for c in CONTEXTS} for e in found}}
        out.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
