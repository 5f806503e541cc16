"""The key-value store's IndexedDB layouts in every engine, through the JS API and Python.

* A store written by webstore 0.1.0 (``tests/fixtures/v0.1.0-kv-idb.json``, layout 1, made
  by ``make_v010_kv.py`` in real Chromium) opens and reads back bit-exact, from JS and Python.
* Large typed arrays and ArrayBuffers set from the JS API are stored as layout 2 (head +
  ``ArrayBuffer``, never through WebAssembly): the raw record proves it; JS and Python read
  them back as the same kind, bit-exact; ``fsck`` passes; a watch sees the write.
* A flipped byte in a layout-2 record's data or head raises ``IntegrityError`` naming the key
  in JS and Python, and ``fsck`` reports it.

Each runs in the page and in a dedicated worker (where Firefox writes OPFS files with
synchronous access handles); ids name engine, context and backend:
``[chromium-page-indexeddb]``, ``[firefox-worker-indexeddb]``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ENGINES
from test_idb import QUOTA_ENGINES, _quota_page

FIXTURE = json.loads((Path(__file__).resolve().parents[1] / "fixtures"
                      / "v0.1.0-kv-idb.json").read_text())
MODULE = "/tests/browser/kv_layout.mjs"
CONTEXTS = [(e, r) for e in ENGINES for r in ("page", "worker")]
CASES = pytest.mark.parametrize("engine,realm,backend", [(e, r, "indexeddb") for e, r in CONTEXTS],
                                ids=[f"{e}-{r}-indexeddb" for e, r in CONTEXTS])


@pytest.fixture(scope="module")
def pages(engines, server_url):
    opened: dict[str, Any] = {}

    def get(engine: str) -> Any:
        if engine not in opened or opened[engine].crashed:
            opened[engine] = engines(engine).open(f"{server_url}/tests/browser/page.html")
        return opened[engine]

    yield get
    for page in opened.values():
        page.close()


def _call(pages: Any, engine: str, realm: str, fn: str, *args: Any) -> Any:
    """``fn`` of kv_layout.mjs run in the engine's page, or in a new worker of it."""
    method = "module" if realm == "page" else "workerModule"
    return pages(engine).call(method, MODULE, fn, f"layout-{fn}-{realm}-{time.time_ns()}", *args)


@CASES
def test_v010_store_reads_back_bit_exact(pages, engine: str, realm: str, backend: str) -> None:
    got = _call(pages, engine, realm, "readFixture", FIXTURE)
    assert got["js"] == FIXTURE["js"]
    assert got["many"] == list(FIXTURE["js"].values())
    assert got["other"] == "another namespace"
    fsck = got["python"].pop("fsck")
    assert got["python"] == FIXTURE["python"]
    assert fsck == {}


@CASES
def test_large_binary_values_skip_webassembly_and_read_back(pages, engine: str, realm: str,
                                                            backend: str) -> None:
    got = _call(pages, engine, realm, "roundTrip")
    written = got["written"]
    assert got["read"] == written
    assert got["entries"].pop("v/small") == {"kind": "Float64Array",
                                              "base64": "AAAAAAAA8D8AAAAAAAAAQAAAAAAAAAhA"}
    assert got["entries"] == written
    assert got["python"].pop("fsck") == {}
    assert got["python"] == written
    layouts = {k.removeprefix("3:big:"): v for k, v in got["raw"].items()}
    assert layouts.pop("v/small") == "layout 1"
    # 8 MB: a file where OPFS is measured faster (Firefox), else in the record
    on_opfs = engine == "firefox"
    assert ("OPFS" in got["largeValues"]) == on_opfs, got["largeValues"]
    assert layouts.pop("v/moving") == ("layout 2 file" if on_opfs else "layout 2")
    assert set(layouts.values()) == {"layout 2"}, layouts
    assert len(layouts) == len(written) - 1
    assert got["changes"] == 1


@CASES
@pytest.mark.parametrize("where", ["data", "head"])
def test_flipped_byte_in_layout_2_is_caught(pages, engine: str, realm: str, backend: str,
                                         where: str) -> None:
    got = _call(pages, engine, realm, "corrupt", where)
    assert got["js"]["name"] == "IntegrityError", got
    assert got["js"]["key"] == "x", got
    assert got["python"]["name"] == "IntegrityError", got
    assert got["python"]["key"] == "x", got
    assert list(got["fsck"]) == ["x"], got


@CASES
def test_opfs_files_are_collected_and_checked(pages, engine: str, realm: str, backend: str) -> None:
    got = _call(pages, engine, realm, "collect")
    if engine != "firefox":  # OPFS is used only where measured faster (opfs.js)
        assert "OPFS" not in got["largeValues"], got
        return
    assert (got["before"], got["garbage"], got["collected"], got["after"]) == (2, 2, 1, 2), got
    assert got["same"] and got["a"], got
    assert (got["last"], got["empty"]) == (0, 0), got
    assert got["flipped"]["name"] == "IntegrityError" and got["flipped"]["key"] == "c", got
    assert list(got["fsck"] if isinstance(got["fsck"], dict) else {}) == ["c"], got


QUOTA_CASES = pytest.mark.parametrize(
    "engine,backend", [(e, "indexeddb") for e in ENGINES if e in QUOTA_ENGINES],
    ids=[f"{e}-page-indexeddb" for e in ENGINES if e in QUOTA_ENGINES])


@QUOTA_CASES
def test_large_value_over_quota_is_storage_full_and_leaves_nothing(engines, server_url,
                                                                   engine: str,
                                                                   backend: str) -> None:
    page, own_browser = _quota_page(engines, server_url, engine)
    try:
        got = page.call("module", MODULE, "quota", f"layout-quota-{time.time_ns()}")
    finally:
        page.close()
        if own_browser is not None:
            own_browser.close()
    assert got["error"] is not None and got["error"]["name"] == "StorageFull", got
    assert 0 < got["written"] < 10, got
    assert got["keys"] == [f"big{i}" for i in range(got["written"])] + ["keep"], got
    assert got["keep"] is True, got
    if engine == "firefox":  # one file per stored value: the failed write left none
        assert got["files"] == got["written"] + 1, got
        assert got["collected"] == 0, got  # deleting big0 freed its file at once
    assert got["again"] is True, got


@CASES
def test_python_large_values_read_back(pages, engine: str, realm: str, backend: str) -> None:
    got = _call(pages, engine, realm, "pythonLarge")
    assert got["same"] is True and got["cas"] is True and got["a2"] == "replaced", got
    assert got["fsck"] == {}, got
    assert got["raw"] == ("whole file" if engine == "firefox" else "layout 1"), got
    assert got["js"] == {"length": 300_000, "last": 299_999 * 0.25}, got
