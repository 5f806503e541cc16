"""Real browser engines for the in-Pyodide suite: Chromium and Firefox ESR via Playwright,
WebKitGTK via Selenium + WebKitWebDriver (run under ``xvfb-run -a``).

Pages come from a static server on 127.0.0.1 started here, serving the repository root
(``tests/browser/page.html`` loads ``wasm/loader.mjs``, Pyodide from ``node_modules``).
Engines to run: ``WEBSTORE_ENGINES`` (default ``chromium,firefox,webkit``). An engine that
cannot start fails its tests; it is never skipped. A matrix summary is printed at the end.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINES = [e for e in os.environ.get("WEBSTORE_ENGINES", "chromium,firefox,webkit").split(",")
           if e]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
TIMEOUT_S = 600


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 (class attribute of the stdlib handler)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
        ".json": "application/json", ".whl": "application/zip", ".zip": "application/zip",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        # A sandboxed iframe without allow-same-origin has an opaque origin ("null"): its
        # module scripts, wasm and fetches are cross-origin requests (test_reliability_storage).
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()


@pytest.fixture(scope="session")
def server_url():
    if not (ROOT / "wasm" / "dist" / "pyodide-lock-test.json").exists():
        pytest.fail("wasm/dist is missing: run `python3 wasm/build.py` first")
    handler = functools.partial(_Handler, directory=str(ROOT))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


#: Renderer crashes that made a test or a suite run again; printed in the summary, never hidden.
CRASHES: list[str] = []
#: Measurements a test wants shown under the matrix (e.g. worker boot times).
NOTES: list[str] = []


class Page:
    """One loaded test page: ``call("runSuite", ...)`` awaits ``window.webstoreTest[...]``."""

    #: Set when the engine reports that the page's renderer process died.
    crashed = False

    def call(self, method: str, *args: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class PlaywrightPage(Page):
    def __init__(self, context: Any, url: str, own_context: bool = True) -> None:
        self.context = context
        self.own_context = own_context
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_S * 1000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("crash", lambda _: setattr(self, "crashed", True))
        self.page.goto(url)
        self.call("ready")

    def call(self, method: str, *args: Any) -> Any:
        try:
            return self.page.evaluate(
                "([m, args]) => { const t = window.webstoreTest[m];"
                " return typeof t === 'function' ? t(...args) : t; }", [method, list(args)])
        except Exception as exc:
            # evaluate() can reject before Playwright dispatches the page's "crash" event (CI,
            # the first Chromium suite): without this the crashed page stayed in use and every
            # later check of that engine failed with the same error.
            if "Target crashed" in str(exc):
                self.crashed = True
            raise

    def close(self) -> None:
        if self.own_context:
            self.context.close()
        else:
            self.page.close()


class SeleniumPage(Page):
    def __init__(self, driver: Any, url: str) -> None:
        self.driver = driver
        driver.get(url)
        self.call("ready")

    def call(self, method: str, *args: Any) -> Any:
        got = self.driver.execute_async_script(
            "const [m, args, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];"
            "const t = window.webstoreTest[m];"
            "Promise.resolve(typeof t === 'function' ? t(...args) : t)"
            ".then(v => done({ok: v === undefined ? null : v}),"
            # WebKit's stack does not repeat the message: send both
            " e => done({error: String(e) + (e && e.stack ? '\\n' + e.stack : '')}));",
            method, list(args))
        if "error" in got:
            raise RuntimeError(f"{method} failed in WebKit: {got['error']}")
        return got["ok"]

    def close(self) -> None:
        self.driver.get("about:blank")


class SeleniumTab(SeleniumPage):
    """A page in a new tab of the WebKit driver; switches to its tab before every call.

    WebDriver runs one command at a time, so two tabs are driven in turn (the other tab keeps
    running meanwhile). ``init_script`` runs right after load, before the test's first call.
    """

    def __init__(self, driver: Any, url: str, home: str, init_script: str | None = None) -> None:
        self.home = home
        driver.switch_to.new_window("tab")
        self.handle = driver.current_window_handle
        self.driver = driver
        driver.get(url)
        if init_script:
            driver.execute_script(init_script)
        self.call("ready")

    def call(self, method: str, *args: Any) -> Any:
        self.driver.switch_to.window(self.handle)
        return super().call(method, *args)

    def close(self) -> None:
        try:
            self.driver.switch_to.window(self.handle)
            self.driver.close()
        finally:  # never leave the driver on a closed tab: later pages would find no window
            self.driver.switch_to.window(self.home)


class Engine:
    """A started browser engine that opens test pages."""

    def __init__(self, name: str) -> None:
        self.name = name

    def open(self, url: str) -> Page:
        raise NotImplementedError

    def open_tabs(self, url: str, count: int = 2, init_script: str | None = None) -> list[Page]:
        """``count`` pages of one origin sharing storage (tabs of one profile/context)."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class PlaywrightEngine(Engine):
    def __init__(self, name: str, playwright: Any) -> None:
        super().__init__(name)
        self.playwright = playwright
        self.browser = self.browser_type().launch(**self.launch_args())

    def browser_type(self) -> Any:
        return getattr(self.playwright, self.name)

    def launch_args(self) -> dict[str, Any]:
        if self.name == "chromium":
            return {"executable_path": shutil.which("chromium") or "/usr/bin/chromium",
                    "headless": True, "args": CHROMIUM_ARGS}
        return {"channel": "moz-firefox", "headless": True,
                "executable_path": shutil.which("firefox-esr") or "/usr/bin/firefox-esr"}

    def open(self, url: str) -> Page:
        return PlaywrightPage(self.browser.new_context(), url)

    def open_tabs(self, url: str, count: int = 2, init_script: str | None = None) -> list[Page]:
        # One browser context = one profile: storage, BroadcastChannel and storage events are
        # shared by its pages. The context closes with the last of them.
        context = self.browser.new_context()
        if init_script:
            context.add_init_script(init_script)
        pages: list[Page] = [PlaywrightPage(context, url, own_context=False)
                             for _ in range(count - 1)]
        pages.append(PlaywrightPage(context, url, own_context=True))
        return pages

    def open_persistent(self, profile: Path, url: str) -> Page:
        """A page in a browser using ``profile`` as its user data dir (restart tests)."""
        context = self.browser_type().launch_persistent_context(str(profile),
                                                                 **self.launch_args())
        return PlaywrightPage(context, url)

    def stop(self) -> None:
        self.browser.close()


class WebKitEngine(Engine):
    def __init__(self) -> None:
        super().__init__("webkit")
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        if not os.environ.get("DISPLAY"):
            raise RuntimeError("WebKitGTK needs a display: run under `xvfb-run -a`")
        options = Options()
        options.binary_location = MINIBROWSER
        options.add_argument("--automation")
        self.driver = webdriver.WebKitGTK(options=options,
                                          service=Service("/usr/bin/WebKitWebDriver"))
        self.driver.set_script_timeout(TIMEOUT_S)
        self.driver.set_page_load_timeout(120)
        self.home = self.driver.current_window_handle

    def _focus_home(self) -> None:
        """Pages open in the first window; a tab closed under the driver must not be current."""
        handles = self.driver.window_handles
        if self.home not in handles:
            self.home = handles[0]
        self.driver.switch_to.window(self.home)

    def open(self, url: str) -> Page:
        self._focus_home()
        try:
            return SeleniumPage(self.driver, url)
        except RuntimeError as exc:
            # WebKitGTK keeps every tab's wasm memory until it collects garbage; after many
            # Pyodide pages in one session a new one sometimes fails to instantiate (a wasm
            # trap while booting, seen in a full CI sequence, never alone). Like a renderer
            # crash: the page loads once more, must work, and the summary prints it.
            if "ready failed" not in str(exc):
                raise
            CRASHES.append(f"webkit: a page did not boot ({str(exc).splitlines()[0][:120]}); "
                           "loaded once more")
            self.driver.get("about:blank")
            return SeleniumPage(self.driver, url)

    def open_tabs(self, url: str, count: int = 2, init_script: str | None = None) -> list[Page]:
        self._focus_home()
        return [SeleniumTab(self.driver, url, self.home, init_script) for _ in range(count)]

    def stop(self) -> None:
        self.driver.quit()


@pytest.fixture(scope="session")
def engines(request):
    """Started engines by name, started on first use and stopped at the end of the session."""
    started: dict[str, Engine] = {}
    failures: dict[str, str] = {}
    holder: dict[str, Any] = {}

    def get(name: str) -> Engine:
        if name in failures:
            pytest.fail(f"{name} did not start: {failures[name]}")
        if name not in started:
            try:
                if name == "webkit":
                    started[name] = WebKitEngine()
                else:
                    if "playwright" not in holder:
                        from playwright.sync_api import sync_playwright

                        holder["cm"] = sync_playwright()
                        holder["playwright"] = holder["cm"].__enter__()
                    started[name] = PlaywrightEngine(name, holder["playwright"])
            except Exception as exc:
                failures[name] = f"{type(exc).__name__}: {exc}"
                pytest.fail(f"{name} did not start: {failures[name]}")
        return started[name]

    get.started = started  # type: ignore[attr-defined]
    yield get
    for engine in started.values():
        with contextlib.suppress(Exception):
            engine.stop()
    if "cm" in holder:
        holder["cm"].__exit__(None, None, None)


@pytest.fixture(scope="session")
def suite_page(engines, server_url):
    """One loaded page per engine (Pyodide loads once per engine), shared by the matrix.

    A page whose renderer crashed is replaced by a fresh one on the next request, so one crash
    fails what ran in it, not every later test of the engine.
    """
    pages: dict[str, Page] = {}

    def get(name: str) -> Page:
        if name in pages and pages[name].crashed:
            with contextlib.suppress(Exception):
                pages.pop(name).close()
        if name not in pages:
            pages[name] = engines(name).open(f"{server_url}/tests/browser/page.html")
        return pages[name]

    yield get
    for page in pages.values():
        with contextlib.suppress(Exception):
            page.close()


# -- matrix summary ------------------------------------------------------------------------

_RESULTS: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0})


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    params = getattr(report, "engine_backend", None)
    if params is None:
        return
    _RESULTS[params]["passed" if report.passed else "failed"] += 1


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run a test once more if a renderer process died under it ("Target crashed").

    Seen once in CI (Chromium), never reproduced; a crash that does not repeat is taken as
    the engine's. The rerun must pass; the crash is printed in the summary either way.
    """
    try:
        return (yield)
    except Exception as exc:
        if "Target crashed" not in str(exc):
            raise
        CRASHES.append(f"{pyfuncitem.nodeid} ({str(exc).splitlines()[0]}); test rerun")
        names = pyfuncitem._fixtureinfo.argnames
        pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names})
        return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    spec = getattr(item, "callspec", None)
    # An empty parameter set (an engine list without the test's engines) holds NOTSET.
    if spec is not None and isinstance(spec.params.get("engine"), str):
        # A test run in another realm (a Web Worker) gets its own row: "chromium worker"
        # (not named "context": pytest-playwright would then parametrize it by browser).
        row = " ".join(filter(None, [spec.params["engine"], spec.params.get("realm")]))
        report.engine_backend = (row, spec.params.get("backend", "-"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    for crash in CRASHES:
        tr.write_line(f"RENDERER CRASHED: {crash}", yellow=True)
    if not _RESULTS:
        return
    tr.section("browser matrix (engine x backend: passed / failed)")
    backends = sorted({b for _, b in _RESULTS})
    width = max(16, *(len(b) + 2 for b in backends))
    tr.write_line("engine".ljust(17) + "".join(b.ljust(width) for b in backends))
    for engine in ENGINES:
        rows = sorted({r for r, _ in _RESULTS if r.split()[0] == engine}) or [engine]
        for row in rows:
            cells = []
            for b in backends:
                r = _RESULTS.get((row, b))
                cells.append((f"{r['passed']} / {r['failed']}" if r else "-").ljust(width))
            tr.write_line(row.ljust(17) + "".join(cells))
    for note in NOTES:
        tr.write_line(note)
    missing = [e for e in ENGINES if not any(
        r["passed"] for (eng, _), r in _RESULTS.items() if eng.split()[0] == e)]
    if missing:
        tr.write_line(f"ENGINES THAT DID NOT RUN: {', '.join(missing)}", red=True)
    out = ROOT / "tests" / "artifacts" / "browser-matrix.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({f"{e.replace(' ', '-')}-{b}": r for (e, b), r in _RESULTS.items()}
                              | {"renderer_crashes": CRASHES, "notes": NOTES}, indent=1))


def pytest_sessionfinish(session, exitstatus):
    ran = {e.split()[0] for (e, _), r in _RESULTS.items() if r["passed"]}
    if _RESULTS and set(ENGINES) - ran and session.exitstatus == 0:
        session.exitstatus = 1
