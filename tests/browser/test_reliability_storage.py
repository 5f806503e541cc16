"""Storage the browser itself refuses (no monkeypatching, unlike test_matrix's ``?break=``):

* a sandboxed iframe without ``allow-same-origin`` (opaque origin): every engine throws
  SecurityError for indexedDB and localStorage there;
* Firefox in permanent private browsing with IndexedDB disabled for private windows
  (``indexedDB.open`` fails with InvalidStateError), with and without DOM storage
  (``dom.storage.enabled=false``: ``localStorage`` is null).

Auto-selection must fall back and record each refusal's reason; an explicitly requested backend
must raise StorageUnavailable with the reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import ENGINES, TIMEOUT_S
from reliability_util import figures

EXPLICIT = """
import webstore, json
out = {{}}
for name in {names!r}:
    try:
        store = await webstore.open("probe", backend=name)
        out[name] = ["opened", store.backend.name]
        await store.close()
    except webstore.StorageUnavailable as exc:
        out[name] = [type(exc).__name__, exc.backend, exc.reason]
json.dumps(out)
"""
PROBE_JS = """async () => {
  const r = {origin: self.origin};
  try { r.localStorage = String(localStorage); } catch (e) { r.localStorage = e.name; }
  try {
    r.indexedDB = await new Promise((ok) => {
      const q = indexedDB.open("probe");
      q.onsuccess = () => { q.result.close(); ok("opened"); };
      q.onerror = () => ok(q.error.name);
    });
  } catch (e) { r.indexedDB = e.name; }
  return r;
}"""


class Frame:
    """``webstoreTest`` calls into the sandboxed frame (Playwright frame or Selenium)."""

    def __init__(self, engine: Any, url: str) -> None:
        self.engine = engine
        if engine.name == "webkit":
            from selenium.webdriver.common.by import By

            engine.driver.get(url)
            engine.driver.switch_to.frame(engine.driver.find_element(By.ID, "box"))
            self.page = None
        else:
            self.page = engine.browser.new_page()
            self.page.set_default_timeout(TIMEOUT_S * 1000)
            self.page.goto(url)
            self.frame = next(f for f in self.page.frames if f.url.endswith("/page.html"))
        self.call("ready")

    def call(self, method: str, *args: Any) -> Any:
        script = ("const t = window.webstoreTest[m];"
                  " return typeof t === 'function' ? t(...args) : t;")
        if self.page is not None:
            return self.frame.evaluate(f"([m, args]) => {{ {script} }}", [method, list(args)])
        got = self.engine.driver.execute_async_script(
            "const [m, args, done] = [arguments[0], arguments[1], arguments[2]];"
            f"Promise.resolve((() => {{ {script} }})())"
            ".then(v => done({ok: v === undefined ? null : v}), e => done({error: String(e)}));",
            method, list(args))
        if "error" in got:
            raise RuntimeError(got["error"])
        return got["ok"]

    def probe(self) -> dict[str, str]:
        """What the browser itself says about storage in the frame."""
        if self.page is not None:
            return self.frame.evaluate(PROBE_JS)
        got = self.engine.driver.execute_async_script(
            f"const done = arguments[0]; ({PROBE_JS})().then(done);")
        return got

    def close(self) -> None:
        if self.page is not None:
            self.page.close()
        else:
            self.engine.driver.switch_to.default_content()
            self.engine.driver.get("about:blank")


@pytest.mark.parametrize("engine", ENGINES)
def test_sandboxed_iframe(request, engines, server_url, engine):
    """[engine]: opaque origin: auto -> memory with both reasons; explicit -> StorageUnavailable."""
    frame = Frame(engines(engine), f"{server_url}/tests/browser/reliability_sandbox.html")
    try:
        probe = frame.probe()
        chosen = json.loads(frame.call("selection", "auto", "sandboxed"))
        explicit = json.loads(frame.call("run", EXPLICIT.format(
            names=["indexeddb", "localstorage"])))
    finally:
        frame.close()
    figures(request, f"sandboxed iframe {engine}", {
        "origin": probe["origin"], "browser_says": probe, "auto": chosen["backend"],
        "refused": chosen["refused"]})
    assert probe["origin"] == "null", probe
    assert probe["indexedDB"] == "SecurityError" and probe["localStorage"] == "SecurityError"
    assert chosen["backend"] == "memory", chosen
    for name in ("indexeddb", "localstorage"):
        assert re.search("SecurityError", chosen["refused"].get(name, "")), chosen
        kind, backend, reason = explicit[name]
        assert (kind, backend) == ("StorageUnavailable", name), explicit
        assert "SecurityError" in reason, explicit


#: Firefox prefs -> (auto choice, refusal reasons, explicit backends that must refuse).
FIREFOX = {
    "private-idb-off": (
        {"browser.privatebrowsing.autostart": True,
         "dom.indexedDB.privateBrowsing.enabled": False},
        "localstorage", {"indexeddb": "InvalidStateError"}),
    "private-idb-off-storage-off": (
        {"browser.privatebrowsing.autostart": True,
         "dom.indexedDB.privateBrowsing.enabled": False, "dom.storage.enabled": False},
        "memory", {"indexeddb": "InvalidStateError",
                   "localstorage": "not defined|null|not a Storage object"}),
}


FIREFOX_CASES = [("firefox", s) for s in FIREFOX if "firefox" in ENGINES]


@pytest.mark.parametrize("engine,scenario", FIREFOX_CASES,
                         ids=[f"{e}-{s}" for e, s in FIREFOX_CASES])
def test_firefox_storage_disabled(request, engines, server_url, engine, scenario):
    """[firefox-scenario]: a real ``indexedDB.open`` failure / localStorage switched off."""
    prefs, want, reasons = FIREFOX[scenario]
    eng = engines(engine)
    browser = eng.browser_type().launch(**eng.launch_args(), firefox_user_prefs=prefs)
    try:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_S * 1000)
        page.goto(f"{server_url}/tests/browser/page.html")
        call = "([m, args]) => window.webstoreTest[m](...args)"
        page.evaluate(call, ["pyodide", []])  # waits for the boot
        chosen = json.loads(page.evaluate(call, ["selection", ["auto", "prefs"]]))
        explicit = json.loads(page.evaluate(call, ["run", [EXPLICIT.format(
            names=sorted(reasons))]]))
    finally:
        browser.close()
    figures(request, f"firefox prefs {scenario}", {"auto": chosen["backend"],
                                                   "refused": chosen["refused"]})
    assert chosen["backend"] == want, chosen
    for name, pattern in reasons.items():
        assert re.search(pattern, chosen["refused"].get(name, "")), chosen
        kind, backend, reason = explicit[name]
        assert (kind, backend) == ("StorageUnavailable", name), explicit
        assert re.search(pattern, reason), explicit
