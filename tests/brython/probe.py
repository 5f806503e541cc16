#!/usr/bin/env python3
"""Load tests/brython/probe.html in headless Chromium and Firefox and print each step's result.

Serves the repository root on 127.0.0.1 (Brython fetches webstore/*.py from /webstore/ by
synchronous XHR) and msgpack's pure-Python modules at /_pylib/msgpack/ (from the msgpack this
interpreter has installed; Brython cannot load the compiled extension). Needs
``npm install`` (brython) and the project's .venv (playwright, msgpack). Wrap runs in
``flock /tmp/browser.lock``: ``flock /tmp/browser.lock .venv/bin/python tests/brython/probe.py
[--engine chromium|firefox] [--page probe.html|minimal_failure.html] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import importlib.util
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
MSGPACK_DIR = Path(importlib.util.find_spec("msgpack").origin).parent  # type: ignore[arg-type, union-attr]
# Must match CODEC_SAMPLE in probe.html.
CODEC_SAMPLE = {"a": 1, "b": [1, 2.5, "x", b"y", None, True], "t": (1, 2), "big": 2**63}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,  # noqa: RUF012
                      ".js": "text/javascript", ".mjs": "text/javascript", ".py": "text/plain"}
    requests: list[str] = []  # noqa: RUF012

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0]
        if clean.startswith("/_pylib/msgpack/"):
            name = clean[len("/_pylib/msgpack/"):]
            if name.endswith(".py") and "/" not in name:
                return str(MSGPACK_DIR / name)
            return str(MSGPACK_DIR / "does-not-exist")
        return super().translate_path(path)

    def log_message(self, *args: Any) -> None:
        pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        Handler.requests.append(f"{code} {self.path.split('?', 1)[0]}")


def serve() -> tuple[http.server.ThreadingHTTPServer, int]:
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(ROOT)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def run_engine(engine: str, url: str, timeout_s: float) -> dict[str, Any]:
    """Load the page in a fresh browser; the steps (parsed), console errors and wall times."""
    console: list[str] = []
    with sync_playwright() as p:
        if engine == "chromium":
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=ARGS)
        else:
            browser = p.firefox.launch(channel="moz-firefox",
                                       executable_path="/usr/bin/firefox-esr", headless=True)
        version = browser.version
        page = browser.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        t = time.monotonic()
        page.goto(url)
        done = True
        try:
            page.wait_for_function("window.probeDone === true", timeout=timeout_s * 1000)
        except Exception:
            done = False
        wall = time.monotonic() - t
        steps = [json.loads(s) for s in page.evaluate("window.probeResults")]
        shot = Path("/tmp") / f"brython-probe-{engine}.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    return {"engine": engine, "version": version, "done": done, "wall_s": round(wall, 1),
            "steps": steps, "console": console[:40]}


def cpython_codec_hex() -> str:
    """The bytes CPython's webstore codec writes for CODEC_SAMPLE (C msgpack), as hex."""
    from webstore.kv import codec
    return codec.encode(CODEC_SAMPLE).hex()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["chromium", "firefox"], action="append")
    ap.add_argument("--page", default="probe.html")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    engines = a.engine or ["chromium", "firefox"]
    httpd, port = serve()
    url = f"http://127.0.0.1:{port}/tests/brython/{a.page}"
    try:
        expect = cpython_codec_hex()
    except Exception as exc:
        expect = f"(CPython codec failed: {exc})"
    runs = []
    for engine in engines:
        Handler.requests.clear()
        r = run_engine(engine, url, a.timeout)
        r["requests"] = len(Handler.requests)
        r["py_fetched"] = sorted({q for q in Handler.requests if q.endswith(".py")})
        runs.append(r)
        print(f"\n== {engine} {r['version']}: finished={r['done']} in {r['wall_s']} s, "
              f"{r['requests']} HTTP requests, "
              f"{sum(q.startswith('200') for q in r['py_fetched'])} .py files fetched")
        for s in r["steps"]:
            detail = s["detail"].replace("\n", "\n" + " " * 12)
            if s["step"].startswith("codec.encode") and s["ok"]:
                same = s["detail"] == "hex=" + expect
                detail += f"\n            same bytes as CPython: {same}"
                if not same:
                    detail += f" (CPython: {expect})"
            print(f"{'ok  ' if s['ok'] else 'FAIL'} {s['ms']:8.0f} ms  at {s['at']:8.0f}  "
                  f"{s['step']}\n            {detail}" if detail else
                  f"{'ok  ' if s['ok'] else 'FAIL'} {s['ms']:8.0f} ms  at {s['at']:8.0f}  "
                  f"{s['step']}")
        for c in r["console"]:
            print("   console", c[:300])
    httpd.shutdown()
    if a.json:
        a.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
