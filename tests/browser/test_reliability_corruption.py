"""Corruption: bytes of stored objects and values flipped (or cut, or replaced) directly in
IndexedDB (a raw IDB transaction) and localStorage (a raw ``setItem``), in every engine.

Reads of a corrupted object or value raise IntegrityError naming it, never wrong data; reads of
the rest return the original; ``fsck`` (objects) and ``fsck_store`` (values) list every one.
"""

from __future__ import annotations

import os

import pytest
from conftest import ENGINES
from reliability_util import figures, on_fresh_page

OBJECTS = int(os.environ.get("WEBSTORE_CORRUPT_OBJECTS", "25"))
VALUES = int(os.environ.get("WEBSTORE_CORRUPT_VALUES", "20"))
SEED = int(os.environ.get("WEBSTORE_CORRUPT_SEED", "3"))
CASES = [(e, b) for e in ENGINES for b in ("indexeddb", "localstorage")]


@pytest.mark.parametrize("engine,backend", CASES, ids=[f"{e}-{b}" for e, b in CASES])
def test_corruption(request, engines, server_url, engine, backend):
    """[engine-backend]: found / injected for reads and fsck; no wrong data."""
    got = on_fresh_page(engines, server_url, engine, "corruption", backend, "corrupt",
                        SEED, OBJECTS, VALUES)
    objects, values = len(got["objects_injected"]), len(got["values_injected"])
    figures(request, f"corruption {engine}-{backend}", {
        "objects_read_found": f"{got['object_read_found']}/{objects}",
        "objects_fsck_found": f"{got['object_fsck_found']}/{objects}",
        "values_read_found": f"{got['value_read_found']}/{values}",
        "values_fsck_found": f"{got['value_fsck_found']}/{values}",
        "path_reads_refused": got["path_reads_refused"], "wrong_data": len(got["wrong_data"]),
        "other_errors": len(got["other_errors"]),
    })
    assert not got["wrong_data"], got["wrong_data"]
    assert not got["other_errors"], got["other_errors"]
    assert got["object_read_found"] == objects == OBJECTS, got
    assert got["object_fsck_found"] == objects and not got["fsck_false_alarms"], got
    assert got["value_read_found"] == values == VALUES, got
    assert got["value_fsck_found"] == values and not got["fsck_store_false_alarms"], got
    assert got["path_reads_refused"] > 0, got


@pytest.mark.parametrize("engine,backend", CASES, ids=[f"{e}-{b}" for e, b in CASES])
def test_foreign_values(request, engines, server_url, engine, backend):
    """[engine-backend]: values replaced by non-bytes / non-webstore text are reported too."""
    got = on_fresh_page(engines, server_url, engine, "corruption", backend, "foreign",
                        SEED, 10, 10, ["text"])
    figures(request, f"foreign values {engine}-{backend}", {
        "objects_fsck_found": f"{got['object_fsck_found']}/10",
        "values_fsck_found": f"{got['value_fsck_found']}/10",
        "wrong_data": len(got["wrong_data"]), "other_errors": len(got["other_errors"])})
    assert not got["wrong_data"] and not got["other_errors"], got
    assert got["object_read_found"] == got["object_fsck_found"] == 10, got
    assert got["value_read_found"] == got["value_fsck_found"] == 10, got
