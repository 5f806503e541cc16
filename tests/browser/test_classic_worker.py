"""webstore in a classic (non-module) dedicated worker: Pyodide 314 refuses to load there.

Pyodide's loader checks for ``importScripts`` and throws "Classic web workers are not
supported" (node_modules/pyodide/pyodide.mjs), so neither Pyodide nor webstore runs in a
classic worker; module workers (``new Worker(url, {type: "module"})``) are the supported
context (test_workers.py, test_kv_layout.py, the worker matrix). This pins that limitation in
every engine, with the error users see, so a Pyodide that lifts it makes this test fail and
the README's Workers section gets updated. Ids: ``[chromium-worker-indexeddb]``.
"""

from __future__ import annotations

import pytest
from conftest import ENGINES


@pytest.mark.parametrize("engine,realm,backend", [(e, "worker", "indexeddb") for e in ENGINES],
                         ids=[f"{e}-worker-indexeddb" for e in ENGINES])
def test_classic_worker_is_refused_by_pyodide(engines, server_url, engine: str, realm: str,
                                             backend: str) -> None:
    page = engines(engine).open(f"{server_url}/tests/browser/page.html")
    try:
        got = page.call("classicWorker")
    finally:
        page.close()
    assert got == {"error": "Error: Classic web workers are not supported"}, got
