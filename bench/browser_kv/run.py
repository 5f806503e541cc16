#!/usr/bin/env python3
"""Key-value speed in real browsers: raw IndexedDB / OPFS, idb-keyval, localForage, webstore.

Chromium and Firefox ESR (Playwright), WebKitGTK (Selenium + WebKitWebDriver, needs a display:
the script re-executes itself under ``xvfb-run -a`` when DISPLAY is unset). A run loads
``page.html`` per engine four times, each in a fresh browser and profile: the workloads of
``workloads.mjs`` in the page, a bare ``loadPyodide`` alone in the page, then both again in a
dedicated module worker. Prints per engine and context the medians over the runs (ms) and the
issue's target ratios; writes them to ``results-<date>.json`` here. Run
``python3 wasm/build.py`` and ``npm ci`` first.
Usage: ``.venv/bin/python bench/browser_kv/run.py --runs 3 [--small] [--engines chromium]``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
TIMEOUT_S = 900  # one page load
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

    def translate_path(self, path: str) -> str:
        # The bench's own page and workloads come from here, whatever checkout --root serves.
        here = "/bench/browser_kv/"
        if path.startswith(here):
            return str(HERE / Path(path.split("?", 1)[0][len(here):]).name)
        return super().translate_path(path)


# -- one page load in a fresh browser and profile ------------------------------------------

def load_playwright(name: str, url: str) -> Result:
    from playwright.sync_api import sync_playwright

    if name == "chromium":
        launch = {"executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}
    else:
        launch = {"channel": "moz-firefox", "executable_path": "/usr/bin/firefox-esr"}
    with sync_playwright() as p:
        browser = getattr(p, name).launch(headless=True, **launch)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_S * 1000)
            page.goto(url)
            result: Result = page.evaluate("window.benchResult")
        finally:
            browser.close()
    return result


def load_webkit(url: str) -> Result:
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.options import Options
    from selenium.webdriver.webkitgtk.service import Service

    options = Options()
    options.binary_location = MINIBROWSER
    options.add_argument("--automation")
    service = Service("/usr/bin/WebKitWebDriver")
    driver = webdriver.WebKitGTK(options=options, service=service)
    # If MiniBrowser dies, WebKitWebDriver may never answer: stop it, so the call fails.
    watchdog = threading.Timer(TIMEOUT_S + 60, service.process.kill)
    watchdog.start()
    try:
        driver.set_script_timeout(TIMEOUT_S)
        driver.set_page_load_timeout(120)
        driver.get(url)
        got = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.benchResult.then(v => done({ok: v}),"
            " e => done({error: String(e) + (e && e.stack ? '\\n' + e.stack : '')}));")
    finally:
        watchdog.cancel()
        with contextlib.suppress(Exception):
            driver.quit()
    if "error" in got:
        raise RuntimeError(f"webkit: {got['error']}")
    result: Result = got["ok"]
    return result


def measure(engine: str, base: str, ctx: str, n: int, mb: int) -> Result:
    """The workloads of one context (``page`` or ``worker``) in a fresh browser of ``engine``,
    plus a bare ``loadPyodide`` alone in another fresh browser (``cold["bare_fresh"]``)."""
    url = f"{base}/bench/browser_kv/page.html?ctx={ctx}&n={n}&mb={mb}"
    load = load_webkit if engine == "webkit" else functools.partial(load_playwright, engine)
    result = load(url)
    if "error" not in result["cold"]:
        result["cold"]["bare_fresh"] = load(f"{url}&bare")["bare_cold"]
    return result


# -- medians, table, ratios ------------------------------------------------------------------

def median(cells: list[Cell]) -> Cell:
    """Median of the numbers; a run's "n/a"/"failed" text wins (never a number from fewer runs)."""
    texts = [c for c in cells if isinstance(c, str)]
    if texts:
        return texts[0]
    numbers = [c for c in cells if isinstance(c, int | float)]
    return round(statistics.median(numbers), 1) if numbers else None


def medians(runs: list[Result]) -> Result:
    """One result of medians, cell by cell, from the results of several runs of one context."""
    rows = {name: {col: median([r["rows"][name].get(col) for r in runs])
                   for col in (*COLUMNS, "open") if col in runs[0]["rows"][name]}
            for name in LIBRARIES if name in runs[0]["rows"]}
    cold = {key: median([r["cold"].get(key) for r in runs]) for key in runs[0]["cold"]}
    for name, bare in (("overhead", "bare_loadPyodide"), ("overhead_fresh", "bare_fresh")):
        if all(isinstance(r["cold"].get(k), int | float) for r in runs
               for k in ("first_get", bare)):
            cold[name] = median([r["cold"]["first_get"] - r["cold"][bare] for r in runs])
    return {"runs": len(runs), "rows": rows, "cold": cold}


def total(row: dict[str, Cell], prefix: str) -> Cell:
    a, b = row.get(f"{prefix}_set"), row.get(f"{prefix}_get")
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a + b
    return a if isinstance(a, str) else None


def ratio(a: Cell, b: Cell) -> float | str:
    if isinstance(a, int | float) and isinstance(b, int | float) and b:
        return round(a / b, 2)
    return "n/a"


#: The issue's targets: short name -> (what is divided by what, rows, workload).
TARGETS = {
    "big_js": ("typed set+get, webstore JS API / raw IndexedDB",
               "webstore JS API", "raw IndexedDB", "big"),
    "big_py": ("typed set+get, webstore Python / raw IndexedDB",
               "webstore Python", "raw IndexedDB", "big"),
    "big_worker": ("typed set+get, webstore JS {worker: true} / raw IndexedDB",
                   "webstore JS {worker: true}", "raw IndexedDB", "big"),
    "batch_js": ("setMany+getMany, webstore JS API / idb-keyval",
                 "webstore JS API", "idb-keyval", "small"),
}


def ratios(m: Result) -> dict[str, float | str]:
    """The target ratios of one context's result, and cold start - bare loadPyodide (ms)."""
    rows = m["rows"]
    out: dict[str, float | str] = {
        key: ratio(total(rows[a], work), total(rows[b], work))
        for key, (_, a, b, work) in TARGETS.items() if a in rows}
    for key, name in (("cold_minus_bare_ms", "overhead"),
                      ("cold_minus_fresh_bare_ms", "overhead_fresh")):
        value = m["cold"].get(name)
        out[key] = round(value) if isinstance(value, int | float) else "n/a"
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
        line = f"{name:30}"
        for work in ("small", "big"):
            cells = [row.get(f"{work}_set"), row.get(f"{work}_get"), total(row, work)]
            text = [c for c in cells if isinstance(c, str)]
            line += f"  {text[0]}" if text else "".join(fmt(c, 9) for c in cells) + " " * 6
        print(line.rstrip())
    cold = m["cold"]
    if "error" in cold:
        print(f"cold start: failed ({cold['error']})")
    else:
        print(f"cold start: first webstore get answered {cold['first_get']:.0f} ms after the "
              f"time origin; bare loadPyodide {cold['bare_loadPyodide']:.0f} ms on the same page "
              "load (after it: files and compiled wasm cached), "
              f"{cold.get('bare_fresh', float('nan')):.0f} ms from the time origin alone in a "
              "fresh browser")
    boot = m["rows"].get("webstore JS {worker: true}", {}).get("open")
    if isinstance(boot, int | float):
        print(f"webstore {{worker: true}} open, worker boot (files cached): {boot:.0f} ms")
    got = ratios(m)
    for key, (what, *_) in TARGETS.items():
        if key in got:
            print(f"  {what}: {got[key]}")
    print(f"  cold start - bare loadPyodide: {got['cold_minus_bare_ms']} ms (bare one on the "
          f"same page load, after it); {got['cold_minus_fresh_bare_ms']} ms (bare one alone in "
          "a fresh browser)")


# -- main --------------------------------------------------------------------------------------

def output(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError as exc:
        return f"unknown ({exc})"


def versions(root: Path) -> dict[str, str]:
    webkit = output(["dpkg-query", "-W", "libwebkit2gtk-4.1-0"]).split()
    return {"chromium": output(["/usr/bin/chromium", "--version"]).splitlines()[-1],
            "firefox": output(["/usr/bin/firefox-esr", "--version"]),
            "webkit": f"WebKitGTK {webkit[-1] if webkit else 'unknown'}",
            "webstore": output(["git", "-C", str(root), "describe", "--always"])
            + (" with uncommitted changes" if output(["git", "-C", str(root), "status",
                                                      "--porcelain", "--", "webstore", "wasm"])
               else "")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh browsers per engine (medians)")
    parser.add_argument("--engines", default="chromium,firefox,webkit")
    parser.add_argument("--small", action="store_true", help="1,000 values and 4 MB (to develop)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="checkout to serve (its wasm/dist built; default: this one)")
    parser.add_argument("--no-json", action="store_true", help="do not write results-<date>.json")
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    if "webkit" in engines and not os.environ.get("DISPLAY"):
        os.execvp("xvfb-run", ["xvfb-run", "-a", sys.executable, *sys.argv])
    n, mb = (1000, 4) if args.small else (10000, 64)
    about = versions(args.root.resolve())
    print(", ".join(f"{k} {v}" for k, v in about.items()), flush=True)

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(args.root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    found: dict[str, dict[str, Result]] = {}
    try:
        for engine in engines:
            runs: dict[str, list[Result]] = {ctx: [] for ctx in CONTEXTS}
            for i in range(args.runs):
                for ctx in CONTEXTS:
                    for attempt in (1, 2):  # a crashed browser gets one more fresh one
                        try:
                            runs[ctx].append(measure(engine, base, ctx, n, mb))
                            break
                        except Exception as exc:
                            print(f"{engine} {ctx} run {i + 1}/{args.runs} attempt {attempt} "
                                  f"FAILED, not counted: {str(exc).splitlines()[0][:200]}",
                                  flush=True)
                    else:
                        continue
                    one = ratios(medians(runs[ctx][-1:]))
                    print(f"{engine} {ctx} run {i + 1}/{args.runs}: "
                          + ", ".join(f"{k} {v}" for k, v in one.items()), flush=True)
            found[engine] = {ctx: medians(runs[ctx]) for ctx in CONTEXTS if runs[ctx]}
            for ctx, m in found[engine].items():
                report(f"{engine}, {ctx} (medians of {len(runs[ctx])} runs, ms)", m, n, mb)
    finally:
        httpd.shutdown()

    if not args.no_json:
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        out = HERE / f"results-{today}.json"
        doc = {"date": today, "runs": args.runs, "n": n, "mb": mb, "versions": about,
               "ratio_keys": {k: v[0] for k, v in TARGETS.items()},
               "ratios": {e: {c: ratios(m) for c, m in found[e].items()} for e in found},
               "medians_ms": found}
        out.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
