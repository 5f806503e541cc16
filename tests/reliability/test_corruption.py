"""Corruption injected straight into the SQLite file: found, named, never returned as data.

A repo (with a dangling commit, as an interrupted writer leaves) and a key-value store are
written to one SQLite file. Then, with the stdlib ``sqlite3`` module and a seeded RNG, bytes of
stored objects and values are flipped, values truncated, a ref overwritten with garbage and the
frame header of values altered. On reopening:

* every read of a corrupted value or object raises ``IntegrityError`` whose ``key`` names it;
* every intact value and object still reads back exactly as written (never wrong data);
* ``fsck`` (objects, refs) and ``fsck_store`` (values) report exactly the injected set.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from _procs import nightly

from webstore.backends._sqlite import SQLiteBackend
from webstore.errors import IntegrityError
from webstore.kv import fsck_store
from webstore.kv.store import Store
from webstore.testing import same, sample_values
from webstore.versioned import Repo, fsck
from webstore.versioned.ids import ObjectId

ROUNDS = 20 if nightly() else 3
SEED = 6


async def _populate(path: Path, rng: random.Random) -> dict[str, Any]:
    backend = SQLiteBackend(path)
    store = Store(backend, "kv", owns_backend=False)
    samples = sample_values()
    values = {f"key/{i}": samples[i % len(samples)] if i % 3
              else rng.randbytes(rng.randint(0, 3000)) for i in range(300)}
    await store.set_many(values)
    repo = Repo.on_backend(backend, "repo")
    main = repo.branch("main")
    for i in range(30):
        async with main.transaction(f"commit {i}") as tx:
            for j in range(rng.randint(1, 4)):
                tx.set(f"d{rng.randint(0, 5)}/v{rng.randint(0, 40)}", [i, j, rng.random()])
    await repo.branch("doomed").set("x", "dangling after the branch is deleted")
    await repo.delete_branch("doomed")
    await repo.branch("side").set("y", 1)
    await backend.close()
    return values


def _flip(value: bytes, rng: random.Random) -> bytes:
    pos = rng.randrange(len(value))
    return value[:pos] + bytes([value[pos] ^ rng.randint(1, 255)]) + value[pos + 1:]


def _inject(path: Path, rng: random.Random) -> tuple[set[str], set[str], set[str]]:
    """Corrupt rows in place; return (object hex ids, KV keys, ref names) corrupted."""
    db = sqlite3.connect(path)
    rows = [(bytes(k).decode(), bytes(v)) for k, v in db.execute("SELECT key, value FROM kv")]
    objects = [(k, v) for k, v in rows if k.startswith("~v4:repo:o/")]
    values = [(k, v) for k, v in rows if k.startswith("2:kv:")]
    assert objects and values
    changed: dict[str, bytes] = {}
    obj_ids: set[str] = set()
    for key, raw in rng.sample(objects, 25):
        how = rng.random()
        if how < 0.8:
            changed[key] = _flip(raw, rng)
        elif how < 0.9:
            changed[key] = raw[: rng.randrange(len(raw))]
        else:
            changed[key] = raw + b"\0"
        obj_ids.add(key.rsplit("/", 1)[1])
    kv_keys: set[str] = set()
    for key, raw in rng.sample(values, 25):
        how = rng.random()
        if how < 0.6:
            changed[key] = _flip(raw, rng)
        elif how < 0.75:
            changed[key] = raw[: rng.randrange(len(raw))]
        elif how < 0.9:  # the frame header: magic, body kind, checksum
            pos = rng.randrange(6)
            changed[key] = raw[:pos] + bytes([raw[pos] ^ rng.randint(1, 255)]) + raw[pos + 1:]
        else:
            changed[key] = b""
        kv_keys.add(key[len("2:kv:"):])
    changed["~v4:repo:r/heads/side"] = b"zz" * 32
    with db:
        db.executemany("UPDATE kv SET value = ? WHERE key = ?",
                       [(v, k.encode()) for k, v in changed.items()])
    db.close()
    return obj_ids, kv_keys, {"heads/side"}


async def _verify(path: Path, written: dict[str, Any], bad_objects: set[str],
                  bad_keys: set[str], bad_refs: set[str]) -> tuple[int, int]:
    backend = SQLiteBackend(path)
    store = Store(backend, "kv", owns_backend=False)
    repo = Repo.on_backend(backend, "repo")
    try:
        # Values: each corrupt one raises naming its key, every other one is exact.
        for key, value in written.items():
            if key in bad_keys:
                with pytest.raises(IntegrityError) as info:
                    await store.get(key)
                assert info.value.key == key
                with pytest.raises(IntegrityError):
                    await store.get_many(["key/0", key])
            else:
                assert same(await store.get(key), value), key
        if bad_keys:
            with pytest.raises(IntegrityError):
                await store.items()
        # Objects: each corrupt one raises naming it, the others verify.
        for oid in await repo.objects.ids():
            name = oid.hex()
            if name in bad_objects:
                with pytest.raises(IntegrityError) as info:
                    await repo.objects.read(ObjectId(oid))
                assert info.value.key == name
            else:
                await repo.objects.read(ObjectId(oid))
        repo.objects.forget_cache()
        if bad_refs:
            with pytest.raises(IntegrityError) as info:
                await repo.branch("side").head()
            assert info.value.key == "heads/side"
        report = await fsck(repo)
        found_objects = set(report.corrupt)
        assert found_objects == bad_objects, (found_objects ^ bad_objects)
        assert set(report.bad_refs) == bad_refs
        found_keys = set(await fsck_store(store))
        assert found_keys == bad_keys, (found_keys ^ bad_keys)
        return len(found_objects) + len(report.bad_refs), len(found_keys)
    finally:
        await backend.close()


@pytest.mark.parametrize("engine", ["cpython-sqlite"])
def test_corruption_in_the_sqlite_file_is_found_and_named(engine: str, tmp_path: Path) -> None:
    found = injected = 0
    for round_ in range(ROUNDS):
        rng = random.Random(SEED + round_)
        path = tmp_path / f"corrupt-{round_}.sqlite3"
        written = asyncio.run(_populate(path, rng))
        # Control: before any corruption everything is clean.
        clean = asyncio.run(_verify(path, written, set(), set(), set()))
        assert clean == (0, 0)
        bad_objects, bad_keys, bad_refs = _inject(path, rng)
        objects_found, keys_found = asyncio.run(
            _verify(path, written, bad_objects, bad_keys, bad_refs))
        found += objects_found + keys_found
        injected += len(bad_objects) + len(bad_keys) + len(bad_refs)
    print(f"\n[cpython-sqlite] corruption: rounds={ROUNDS} found/injected={found}/{injected} "
          "(objects, values, refs) wrong data returned=0")
    assert found == injected
