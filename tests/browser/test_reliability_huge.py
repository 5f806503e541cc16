"""Huge values up to each backend's limit, in every engine: a faithful round trip (bit-exact,
typed arrays included) or a clear error that keeps the previous state, never anything else.

IndexedDB must take 64 MiB of bytes and a 64 MiB ``array('d')`` of arbitrary bit patterns.
localStorage must take its declared ``max_value_bytes`` (4,000,000 bytes, about 2.1 million
UTF-16 units after packing) and refuse 16 MiB with StorageFull, keep the last value, and
accept a 1 MiB write again once the key is deleted. Both also commit a 1 MiB blob to a repo.

localStorage's quota is per origin, and the earlier tests of the run leave data in it, so the
localStorage case empties the origin's localStorage first: WebKit's quota (5 MB counted in
UTF-16 bytes) has room for the declared limit only when nothing else is stored.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ENGINES
from reliability_util import figures, on_fresh_page

MIB = 2**20
STEPS = {
    "indexeddb": [["bytes", MIB], ["bytes", 16 * MIB], ["bytes", 64 * MIB],
                  ["float64", 64 * MIB]],
    "localstorage": [["bytes", MIB], ["bytes", 4_000_000], ["bytes", 16 * MIB],
                     ["float64", 2 * MIB]],
}
EXPECTED = {
    "indexeddb": ["faithful"] * 4,
    "localstorage": ["faithful", "faithful", "refused: StorageFull", "faithful"],
}
CASES = [(e, b) for e in ENGINES for b in STEPS]


@pytest.mark.parametrize("engine,backend", CASES, ids=[f"{e}-{b}" for e, b in CASES])
def test_huge_values(request: Any, engines: Any, server_url: str, engine: str,
                     backend: str) -> None:
    """[engine-backend]: each size round-trips bit-exact or is refused with nothing lost."""
    setup = "import js\njs.localStorage.clear()" if backend == "localstorage" else None
    got = on_fresh_page(engines, server_url, engine, "huge_values", backend, "huge",
                        STEPS[backend], setup=setup)
    sizes = [f"{kind} {size // MIB} MiB" if size % MIB == 0 else f"{kind} {size:_} B"
             for kind, size in STEPS[backend]]
    figures(request, f"huge values {engine}-{backend}",
            {**dict(zip(sizes, got["steps"], strict=True)),
             "intact_after_refusal": got["intact_after_refusal"],
             "recovered": got["recovered"], "repo_blob": got["repo_blob_faithful"]})
    assert got["steps"] == EXPECTED[backend], got
    assert got["intact_after_refusal"], got
    assert got["recovered"] is (True if "refused: StorageFull" in EXPECTED[backend] else None)
    assert got["fsck_store"] == [] and got["repo_fsck_ok"], got
    assert got["repo_blob_faithful"], got
