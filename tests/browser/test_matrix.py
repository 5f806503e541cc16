"""The suite inside Pyodide in real engines: every engine x backend, plus selection,
persistence and quota behaviour. Ids name engine and backend, e.g.
``test_conformance[chromium-indexeddb-set_get_roundtrip]``.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from conftest import CRASHES

import webstore.testing

ENGINES = [e for e in os.environ.get("WEBSTORE_ENGINES", "chromium,firefox,webkit").split(",")
           if e]
BACKENDS = ["indexeddb", "localstorage", "memory", "auto"]
PERSISTENT = ["indexeddb", "localstorage"]
CHECKS = webstore.testing.check_names()
EXAMPLES = int(os.environ.get("WEBSTORE_EXAMPLES", "40"))
SEED = int(os.environ.get("WEBSTORE_SEED", "0"))

#: ?break= scenarios: what auto-selection must pick, and the reason it must give per refusal.
SCENARIOS = {
    "idb-missing": ("localstorage", {"indexeddb": r"indexedDB is not defined"}),
    "idb-throws": ("localstorage", {"indexeddb": r"SecurityError"}),
    "idb-open-fails": ("localstorage", {"indexeddb": r"InvalidStateError"}),
    "idb-missing,ls-missing": ("memory", {"indexeddb": r"indexedDB is not defined",
                                          "localstorage": r"localStorage is not defined"}),
    "idb-throws,ls-throws": ("memory", {"indexeddb": r"SecurityError",
                                        "localstorage": r"SecurityError"}),
    "idb-open-fails,ls-full": ("memory", {"indexeddb": r"InvalidStateError",
                                          "localstorage": r"StorageFull"}),
}


def pytest_generate_tests(metafunc):
    names = metafunc.fixturenames
    if "check" in names:
        cases = [(e, b, c) for e in ENGINES for b in BACKENDS for c in CHECKS]
        metafunc.parametrize("engine,backend,check", cases, ids=["-".join(c) for c in cases])
    elif "scenario" in names:
        cases = [(e, s) for e in ENGINES for s in SCENARIOS]
        metafunc.parametrize("engine,scenario", cases, ids=[f"{e}-{s}" for e, s in cases])
    elif "backend" in names:
        backends = PERSISTENT if "persistent" in names else BACKENDS
        cases = [(e, b) for e in ENGINES for b in backends]
        metafunc.parametrize("engine,backend", cases, ids=[f"{e}-{b}" for e, b in cases])
    elif "engine" in names:
        metafunc.parametrize("engine", ENGINES)


@pytest.fixture
def persistent():
    """Marker fixture: parametrize over the persistent backends only."""
    return True


_SUITES: dict[tuple[str, str], dict | Exception] = {}


@pytest.fixture(scope="session")
def suite(suite_page):
    """The suite result of (engine, backend), run once inside that engine's page."""

    def run(engine: str, backend: str) -> dict:
        location = f"suite-{backend}-{int(time.time() * 1000)}"
        page = suite_page(engine)
        try:
            return json.loads(page.call("runSuite", backend, location, EXAMPLES, SEED))
        except Exception as exc:
            if not page.crashed:
                raise
            # The renderer process died (seen twice in CI, Chromium, first suite of the run; 5
            # reruns of that sequence and 12 suite runs in one page did not repeat it). A crash
            # that does not repeat is taken as the engine's: the suite runs once more on a
            # fresh page and must pass there; the crash is printed in the summary either way.
            CRASHES.append(f"{engine} during the {backend} suite ({exc}); rerun on a new page")
            return json.loads(suite_page(engine).call("runSuite", backend, location + "-rerun",
                                                      EXAMPLES, SEED))

    def get(engine: str, backend: str) -> dict:
        key = (engine, backend)
        if key not in _SUITES:
            try:
                _SUITES[key] = run(engine, backend)
            except Exception as exc:
                _SUITES[key] = exc
        found = _SUITES[key]
        if isinstance(found, Exception):
            pytest.fail(f"the suite did not run in {engine}/{backend}: {found}")
        return found

    return get


def test_conformance(suite, engine, backend, check):
    result = suite(engine, backend)
    expected_backend = "indexeddb" if backend == "auto" else backend
    assert result["selection"]["backend"] == expected_backend, result["selection"]
    by_name = {c["name"]: c for c in result["checks"]}
    assert check in by_name, f"check {check} did not run in {engine}/{backend}"
    assert by_name[check]["ok"], by_name[check]["error"]


def test_stateful(suite, engine, backend):
    result = suite(engine, backend)
    machine = result["stateful"]
    assert machine is not None
    assert machine["ok"], f"{machine['error']}\nshrunk program: {machine['program']}"
    assert machine["examples"] >= min(EXAMPLES, 10)


def test_auto_fallback(engines, server_url, engine, scenario):
    """Auto-selection with broken storage APIs records why each candidate was refused."""
    want, reasons = SCENARIOS[scenario]
    page = engines(engine).open(f"{server_url}/tests/browser/page.html?break={scenario}")
    try:
        chosen = json.loads(page.call("selection", "auto", f"fallback-{int(time.time())}"))
        assert chosen["backend"] == want, chosen
        for name, pattern in reasons.items():
            assert re.search(pattern, chosen["refused"].get(name, "")), (name, chosen)
        # An explicitly requested broken backend raises with the reason, no silent fallback.
        refused = next(iter(reasons))
        raised = page.call("run", f"""
import webstore, json
try:
    await webstore.open("x", backend={refused!r})
    out = None
except webstore.StorageUnavailable as exc:
    out = [exc.backend, exc.reason]
json.dumps(out)""")
        got = json.loads(raised)
        assert got is not None, f"backend={refused!r} opened although it is broken"
        assert got[0] == refused and re.search(reasons[refused], got[1]), got
    finally:
        page.close()


def test_persistence_reload(engines, server_url, engine, backend, persistent):
    """Values (typed arrays bit-exact) survive a page reload."""
    location = f"reload-{int(time.time() * 1000)}"
    url = f"{server_url}/tests/browser/page.html"
    eng = engines(engine)
    first = eng.open(url)
    try:
        wrote = json.loads(first.call("py", "write_values", backend, location))
        assert wrote["backend"] == backend
        if hasattr(first, "page"):  # Playwright: a new page in the same browser context
            first.page.close()
            first.page = first.context.new_page()
            first.page.goto(url)
            first.call("ready")
        else:  # Selenium: navigate again
            first = eng.open(url)
        got = json.loads(first.call("py", "check_values", backend, location))
        assert got["ok"], got
    finally:
        first.close()


@pytest.mark.parametrize("store_backend", ["indexeddb", "localstorage"])
def test_persistence_restart_chromium(engines, server_url, tmp_path, store_backend):
    """Chromium with the same profile dir: values come back bit-exact after a restart."""
    if "chromium" not in ENGINES:
        pytest.fail("this test needs chromium in WEBSTORE_ENGINES")
    eng = engines("chromium")
    url = f"{server_url}/tests/browser/page.html"
    location = f"restart-{store_backend}"
    page = eng.open_persistent(tmp_path / "profile", url)
    try:
        wrote = json.loads(page.call("py", "write_values", store_backend, location))
        assert wrote["backend"] == store_backend
    finally:
        page.close()  # closes the whole browser process of this profile
    page = eng.open_persistent(tmp_path / "profile", url)
    try:
        got = json.loads(page.call("py", "check_values", store_backend, location))
        assert got["ok"], got
    finally:
        page.close()


def test_localstorage_quota(engines, server_url, engine):
    """Overfilling localStorage raises StorageFull, leaves the previous values, and the store
    works again after deleting data."""
    page = engines(engine).open(f"{server_url}/tests/browser/page.html")
    try:
        got = json.loads(page.call("py", "quota_check", "localstorage", "quota", 3_000_000, 4))
    finally:
        page.close()
    assert got["error"] and got["error"].startswith("StorageFull"), got
    assert got["keys"] == ["before"] and got["kept"] == "kept", got
    assert got["cas_error"] and got["cas_error"].startswith("StorageFull"), got
    assert got["after_cas"] == "kept", got
    # Filled value by value until it refused: StorageFull, all stored values intact, and a
    # write works again once some were deleted.
    assert got["filled"] >= 2 and (got["fill_error"] or "").startswith("StorageFull"), got
    assert got["intact"] is True and got["works_again"] is True, got
