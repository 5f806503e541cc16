"""Host side helpers shared by the reliability tests: the page driver, processes, figures."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from conftest import PlaywrightPage

#: Loads ``reliability_driver.py`` into the page's Pyodide (once per page) as a module.
_LOAD = """
import js, sys
if "reliability_driver" not in sys.modules:
    src = await (await js.fetch("/tests/browser/reliability_driver.py")).text()
    with open("/home/pyodide/reliability_driver.py", "w") as f:
        f.write(src)
    sys.path.insert(0, "/home/pyodide")
    import reliability_driver
"ok"
"""


def load_driver(page: Any) -> None:
    """Make ``reliability_driver`` importable in ``page`` (a conftest Page)."""
    page.call("run", _LOAD)


def call(page: Any, name: str, *args: Any) -> Any:
    """Await ``reliability_driver.<name>(*args)`` in the page; its JSON result, decoded."""
    code = (f"import reliability_driver, json\n"
            f"await reliability_driver.{name}(*json.loads({json.dumps(json.dumps(args))}))")
    return json.loads(page.call("run", code))


def on_fresh_page(engines: Any, url: str, engine: str, name: str, backend: str, prefix: str,
                  *args: Any, setup: str | None = None) -> Any:
    """In a new page of ``engine``: ``reliability_driver.<name>(backend, location, *args)`` on
    a fresh ``location`` (dropped afterwards); its decoded result. ``setup``: Python to run
    in the page first."""
    page = engines(engine).open(f"{url}/tests/browser/page.html")
    location = f"{prefix}-{backend}-{int(time.time() * 1000)}"
    try:
        load_driver(page)
        if setup is not None:
            page.call("run", setup)
        got = call(page, name, backend, location, *args)
        call(page, "forget", backend, location)
    finally:
        page.close()
    return got


def start(page: PlaywrightPage, name: str, *args: Any) -> None:
    """Start ``reliability_driver.<name>(*args)`` without waiting for it (a writer loop)."""
    code = (f"import reliability_driver, json\n"
            f"await reliability_driver.{name}(*json.loads({json.dumps(json.dumps(args))}))")
    page.page.evaluate(
        "(code) => { window.reported = []; window.writerError = null;"
        " window.webstoreTest.run(code).catch((e) => { window.writerError = String(e); });"
        " return true; }", code)


def browser_pids(profile: Path, kind: str | None = None) -> list[int]:
    """PIDs of the Chromium processes using ``profile`` (main process first), or only those
    of ``--type=<kind>``."""
    mine: list[tuple[bool, int]] = []
    needle = f"--user-data-dir={profile} ".encode()  # children rewrite argv into one string
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ") + b" "
        except OSError:
            continue
        if needle in line and (kind is None or f"--type={kind} ".encode() in line):
            mine.append((b"--type=" in line, int(entry.name)))
    return [pid for _, pid in sorted(mine)]


def sigkill(pids: list[int]) -> None:
    """SIGKILL each PID (ours: found by our own profile path), ignoring those already gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "reliability-browser.json"


class _Summary:
    """Pytest plugin printing every figure line again in the terminal summary."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.section("reliability figures (browsers)")
        for line in self.lines:
            terminalreporter.write_line(line)


def figures(request: Any, title: str, values: dict[str, Any]) -> None:
    """Record one line of figures: printed now (``-s``) and in the terminal summary, and
    merged into ``tests/artifacts/reliability-browser.json``."""
    line = f"[{title}] " + ", ".join(f"{k}={v}" for k, v in values.items())
    print(line, flush=True)
    manager = request.config.pluginmanager
    summary = manager.get_plugin("reliability-figures")
    if summary is None:
        summary = _Summary()
        manager.register(summary, "reliability-figures")
    summary.lines.append(line)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    known[title] = values
    ARTIFACT.write_text(json.dumps(known, indent=1, sort_keys=True))


_BEGIN = ("window.outcome = null; window.webstoreTest.run(code).then("
          "(v) => { window.outcome = {ok: v}; },"
          " (e) => { window.outcome = {error: `${e}\\n${e && e.stack}`}; });")


def begin(page: Any, name: str, *args: Any) -> None:
    """Start ``reliability_driver.<name>(*args)``; :func:`outcome` collects its result."""
    code = (f"import reliability_driver, json\n"
            f"await reliability_driver.{name}(*json.loads({json.dumps(json.dumps(args))}))")
    if isinstance(page, PlaywrightPage):
        page.page.evaluate(f"(code) => {{ {_BEGIN} return true; }}", code)
    else:
        page.driver.execute_script(f"const code = arguments[0]; {_BEGIN} return true;", code)


def outcome(page: Any, timeout_s: float = 900) -> Any:
    """Wait for the call started by :func:`begin`; its decoded JSON result (raises on error)."""
    if isinstance(page, PlaywrightPage):
        page.page.wait_for_function("() => window.outcome", polling=50,
                                    timeout=timeout_s * 1000)
        got = page.page.evaluate("window.outcome")
    else:
        import time

        deadline = time.monotonic() + timeout_s
        while not (got := page.driver.execute_script("return window.outcome;")):
            assert time.monotonic() < deadline, "the page did not finish in time"
            time.sleep(0.05)  # Selenium has no in-page wait: poll the page's variable
    if "error" in got:
        raise AssertionError(f"the page failed: {got['error']}")
    return json.loads(got["ok"])
