"""IndexedDB backend in real engines: quota exhaustion and ``versionchange`` from other tabs.

Ids name engine and backend, e.g. ``test_idb_quota[chromium-indexeddb]``. The quota is made
small for the test: Chromium over the DevTools protocol (``Storage.overrideQuotaForOrigin``),
Firefox with the ``dom.quotaManager.temporaryStorage.fixedLimit`` pref at launch. WebKitGTK
has neither (its quota is a fraction of the disk, settable only through the embedding API),
so the quota test runs in Chromium and Firefox; versionchange runs in every engine.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from conftest import PlaywrightEngine, PlaywrightPage, SeleniumPage

ENGINES = [e for e in os.environ.get("WEBSTORE_ENGINES", "chromium,firefox,webkit").split(",")
           if e]
QUOTA_ENGINES = [e for e in ENGINES if e in ("chromium", "firefox")]
MB = 1024 * 1024
QUOTA = 8 * MB  # Chromium: the origin's quota; Firefox: the whole temporary storage limit


def _cases(engines: list[str]) -> Any:
    return pytest.mark.parametrize(
        "engine,backend", [(e, "indexeddb") for e in engines],
        ids=[f"{e}-indexeddb" for e in engines])


def _location(tag: str) -> str:
    return f"idb-{tag}-{time.time_ns()}"


# -- quota -----------------------------------------------------------------------------------

QUOTA_CODE = """
import json
import random
import webstore
from webstore.errors import StorageFull

def err(exc):
    return f"{type(exc).__name__}: {exc}"

out = {}
rng = random.Random(7)  # incompressible: engines may compress stored values
store = await webstore.open("quota", backend="indexeddb", path=LOCATION)
assert store.backend.name == "indexeddb", store.backend
keys = ["a", "b", "c"]
await store.set_many({"a": 1, "b": rng.randbytes(100_000), "c": "text"})
before = await store.get_many(keys)
# Fill most of the quota, fail to add more, delete, then the same write succeeds.
more = rng.randbytes(BIG + BIG // 2)
await store.set("filler", rng.randbytes(3 * BIG))
try:
    await store.set("more", more)
    out["more"] = "written"
except StorageFull as exc:
    out["more"] = err(exc)
await store.delete("filler")
try:
    await store.set("more", more)
    out["after_delete"] = await store.get("more") == more
except Exception as exc:
    out["after_delete"] = "WRONG " + err(exc)
await store.delete("more")
big = rng.randbytes(BIG)
try:  # one batch, far over the quota, also overwriting existing keys
    await store.set_many({"a": 2, "c": "changed"} | {f"big{i}": big for i in range(5)})
    out["batch"] = "written"
except StorageFull as exc:
    out["batch"] = err(exc)
except Exception as exc:
    out["batch"] = "WRONG " + err(exc)
out["batch_kept"] = await store.get_many(keys) == before
out["keys_after_batch"] = await store.keys()
try:  # compare-and-set whose new value does not fit
    out["cas"] = await store.set_if_equals("a", 1, big * 5)
except StorageFull as exc:
    out["cas"] = err(exc)
except Exception as exc:
    out["cas"] = "WRONG " + err(exc)
out["cas_kept"] = await store.get("a")
# After the failures, deleting data and writing works. (Chromium may count the aborted
# batch's pages for a while, so this write is small.)
await store.delete("b")
try:
    await store.set("d", more[:200_000])
    out["final"] = await store.get("d") == more[:200_000]
except Exception as exc:
    out["final"] = "WRONG " + err(exc)
out["final_keys"] = await store.keys()
await store.backend.destroy()
json.dumps(out)
"""


def _quota_page(engines: Any, server_url: str, engine: str) -> tuple[Any, Any]:
    """A loaded page whose origin has a quota of about ``QUOTA`` bytes (and its owner)."""
    eng = engines(engine)
    url = f"{server_url}/tests/browser/page.html"
    if engine == "chromium":
        page = eng.open(url)
        cdp = page.context.new_cdp_session(page.page)
        cdp.send("Storage.overrideQuotaForOrigin", {"origin": server_url, "quotaSize": QUOTA})
        return page, None
    assert isinstance(eng, PlaywrightEngine)
    browser = eng.browser_type().launch(**eng.launch_args(), firefox_user_prefs={
        "dom.quotaManager.temporaryStorage.fixedLimit": QUOTA // 1024})  # in KiB
    return PlaywrightPage(browser.new_context(), url), browser


@_cases(QUOTA_ENGINES)
def test_idb_quota(engines, server_url, engine, backend):
    """Over quota: StorageFull, nothing half-written, and writes work again after deleting."""
    page, own_browser = _quota_page(engines, server_url, engine)
    try:
        code = QUOTA_CODE.replace("LOCATION", repr(_location("quota"))).replace(
            "BIG", str(2 * MB))
        got = json.loads(page.call("run", code))
        errors = list(page.errors)
    finally:
        page.close()
        if own_browser is not None:
            own_browser.close()
    assert got["batch"].startswith("StorageFull"), got
    assert got["batch_kept"] is True, got
    assert got["keys_after_batch"] == ["a", "b", "c"], got
    assert str(got["cas"]).startswith("StorageFull"), got
    assert got["cas_kept"] == 1, got
    assert got["more"].startswith("StorageFull"), got
    assert got["after_delete"] is True, got
    assert got["final"] is True, got
    assert got["final_keys"] == ["a", "c", "d"], got
    assert not errors, errors


# -- versionchange ---------------------------------------------------------------------------

#: Runs in the *other* tab: open `name` at its version + 1. `mode` "polite" adds a store and
#: closes on versionchange; "rude" deletes our "kv" store and keeps its connection open with
#: no versionchange handler. Resolves {blocked} as soon as the open is blocked (no timeout).
UPGRADE_JS = """
const [name, mode] = [arguments[0], arguments[1]];
const done = arguments[arguments.length - 1];
const openAt = (version) => new Promise((resolve, reject) => {
  const req = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
  req.onblocked = () => resolve({ blocked: true });
  req.onupgradeneeded = () => {
    const db = req.result;
    if (mode === "rude") db.deleteObjectStore("kv");
    else db.createObjectStore(`extra${db.version}`);
  };
  req.onsuccess = () => resolve({ db: req.result });
  req.onerror = () => reject(req.error);
});
(async () => {
  const first = await openAt();
  const version = first.db.version;
  first.db.close();
  const got = await openAt(version + 1);
  if (!got.db) return { blocked: true };
  window.otherDb = got.db;
  if (mode === "polite") got.db.onversionchange = () => got.db.close();
  return { blocked: false, version: got.db.version, stores: [...got.db.objectStoreNames] };
})().then((v) => done(JSON.stringify(v)), (e) => done(JSON.stringify({ error: String(e) })));
"""
CLOSE_OTHER_JS = "window.otherDb?.close(); arguments[arguments.length - 1]('closed');"


class OtherTab:
    """A second tab of the same origin, driven with raw JavaScript (no Pyodide)."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        if isinstance(page, PlaywrightPage):
            self.tab = page.context.new_page()
            self.tab.goto(url)
        else:
            assert isinstance(page, SeleniumPage)
            self.driver = page.driver
            self.home = self.driver.current_window_handle
            self.driver.switch_to.new_window("tab")
            self.handle = self.driver.current_window_handle
            self.driver.get(url)
            self.driver.switch_to.window(self.home)

    def run(self, script: str, *args: Any) -> Any:
        """Run ``script`` (an async WebDriver-style script calling its last argument)."""
        if isinstance(self.page, PlaywrightPage):
            return self.tab.evaluate(
                "([script, args]) => new Promise((done) =>"
                " new Function(script).call(null, ...args, done))", [script, list(args)])
        self.driver.switch_to.window(self.handle)
        try:
            return self.driver.execute_async_script(script, *args)
        finally:
            self.driver.switch_to.window(self.home)

    def close(self) -> None:
        if isinstance(self.page, PlaywrightPage):
            self.tab.close()
        else:
            self.driver.switch_to.window(self.handle)
            self.driver.close()
            self.driver.switch_to.window(self.home)


def _py(page: Any, code: str) -> Any:
    """Run Python ``code`` in the page (globals persist between calls); JSON result."""
    return json.loads(page.call("run", code + "\njson.dumps(out)"))


_TRY = """
import json, webstore
from webstore.errors import StorageUnavailable
try:
    out = {{"value": await store.get("k"), "set": await store.set("k2", {value!r})}}
    out["k2"] = await store.get("k2")
except StorageUnavailable as exc:
    out = {{"error": f"StorageUnavailable: {{exc.reason}}"}}
"""


@_cases(ENGINES)
def test_idb_versionchange(engines, server_url, engine, backend):
    """Another tab's upgrade is never blocked by us; our store keeps working afterwards."""
    page = engines(engine).open(f"{server_url}/tests/browser/page.html")
    location = _location("vc")
    other = None
    try:
        _py(page, f"""
import json, webstore
store = await webstore.open("vc", backend="indexeddb", path={location!r})
await store.set("k", "v1")
out = {{"backend": store.backend.name}}""")
        other = OtherTab(page, f"{server_url}/tests/browser/")
        # 1. A polite upgrade (adds a store): not blocked; our data and writes still work.
        up = json.loads(other.run(UPGRADE_JS, location, "polite"))
        assert up.get("blocked") is False, up
        assert "kv" in up["stores"] and len(up["stores"]) == 2, up
        got = _py(page, _TRY.format(value=1))
        assert got == {"value": "v1", "set": None, "k2": 1}, got
        # 2. A rude upgrade deletes "kv" and then ignores versionchange: it is not blocked
        # either, but our reopen must recreate "kv", which that tab blocks: a clear
        # StorageUnavailable (not a hang).
        up = json.loads(other.run(UPGRADE_JS, location, "rude"))
        assert up.get("blocked") is False, up
        assert "kv" not in up["stores"], up
        got = _py(page, _TRY.format(value=2))
        assert "error" in got and "blocked by another connection" in got["error"], got
        # 3. Once that tab lets go, the next call reopens and recreates the store.
        other.run(CLOSE_OTHER_JS)
        got = _py(page, _TRY.format(value=3))
        assert got == {"value": None, "set": None, "k2": 3}, got
        got = _py(page, """
await store.close()
try:
    await store.get("k2")
    closed = "no error"
except webstore.StoreClosed as exc:
    closed = type(exc).__name__
store = await webstore.open("vc", backend="indexeddb", path=LOCATION)
out = {"closed": closed, "k2": await store.get("k2")}
await store.backend.destroy()""".replace("LOCATION", repr(location)))
        assert got == {"closed": "StoreClosed", "k2": 3}, got
    finally:
        if other is not None:
            other.close()
        page.close()


@_cases(ENGINES)
def test_idb_close_reopen(engines, server_url, engine, backend):
    """``close()`` releases the connection: a deleteDatabase is not blocked, reopen works."""
    page = engines(engine).open(f"{server_url}/tests/browser/page.html")
    location = _location("reopen")
    try:
        got = _py(page, f"""
import json, webstore
from pyodide.code import run_js
store = await webstore.open("r", backend="indexeddb", path={location!r})
await store.set("k", [1, 2, 3])
await store.close()
again = await webstore.open("r", backend="indexeddb", path={location!r})
value = await again.get("k")
await again.close()
# Both closed: deleting the database must not be blocked by a leftover connection.
deleted = await run_js('''(name) => new Promise((resolve) => {{
  const req = indexedDB.deleteDatabase(name);
  req.onblocked = () => resolve("blocked");
  req.onsuccess = () => resolve("deleted");
  req.onerror = () => resolve(String(req.error));
}})''')({location!r})
out = {{"value": value, "deleted": deleted}}""")
    finally:
        page.close()
    assert got == {"value": [1, 2, 3], "deleted": "deleted"}, got
