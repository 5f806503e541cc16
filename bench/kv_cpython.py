"""Key-value throughput on CPython: webstore vs raw sqlite3 and the usual alternatives.

100,000 values of 100 bytes. Raw sqlite3 is sqlite3 at its best: an identical table (BLOB key
primary key, WITHOUT ROWID, WAL, ``synchronous=NORMAL``), one ``executemany`` transaction to
write, and chunked ``IN (...)`` SELECTs to read. Beside it, on the same workload, what a CPython
user would pick instead: ``diskcache``, ``sqlitedict``, ``shelve`` (stdlib, on whichever
``dbm`` is present) and ``lmdb``, each written in one transaction where it has one. Prints the
median seconds of ``--repeat`` runs and the ratio to raw. The rows take turns (every row's
first run, then every row's second...), so a change in the machine's load falls on all of them
alike. Target: webstore ``Store`` / raw <= 1.1 for both set_many and get_many.

The alternatives are the ``bench`` extra; a missing one is skipped with a line saying so:

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/kv_cpython.py [--n 100000] [--repeat 5] [--no-alternatives]
"""

from __future__ import annotations

import argparse
import os
import shelve
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import webstore
from webstore.backends._sqlite import SQLiteBackend
from webstore.testing import drive

CHUNK = 500


Rows = tuple[Callable[[], None], Callable[[], None]]


def seconds(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def medians(rows: dict[str, Rows], repeat: int) -> dict[str, tuple[float, float]]:
    """Median write and read seconds of each row, the rows taking turns."""
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in rows}
    for _ in range(repeat):
        for name, (write, read) in rows.items():
            times[name][0].append(seconds(write))
            times[name][1].append(seconds(read))
    return {name: (statistics.median(w), statistics.median(r)) for name, (w, r) in times.items()}


def raw_sqlite(path: Path, items: list[tuple[str, bytes]]) -> Rows:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
    keys = [k for k, _ in items]

    def write() -> None:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)",
                       [(k.encode(), v) for k, v in items])
        db.execute("COMMIT")

    def read() -> None:
        found: dict[bytes, bytes] = {}
        encoded = [k.encode() for k in keys]
        for i in range(0, len(encoded), CHUNK):
            chunk = encoded[i:i + CHUNK]
            q = f"SELECT key, value FROM kv WHERE key IN ({','.join('?' * len(chunk))})"
            found.update(db.execute(q, chunk))
        out = [found.get(k) for k in encoded]
        assert len(out) == len(keys) and out[0] is not None

    return write, read


def webstore_rows(target: webstore.Store | webstore.Backend, items: list[tuple[str, bytes]]
                  ) -> Rows:
    """Write and read closures for a Store (values) or a Backend (bytes): same calls."""
    keys = [k for k, _ in items]

    def write() -> None:
        drive(target.set_many(items))

    def read() -> None:
        out = drive(target.get_many(keys))
        assert out[0] == items[0][1]

    return write, read


def diskcache_rows(path: Path, items: list[tuple[str, bytes]]) -> Rows:
    import diskcache  # type: ignore[import-not-found]

    cache = diskcache.Cache(str(path))
    keys = [k for k, _ in items]

    def write() -> None:
        with cache.transact():
            for k, v in items:
                cache.set(k, v)

    def read() -> None:
        get = cache.get
        out = [get(k) for k in keys]
        assert out[0] == items[0][1]

    return write, read


def mapping_rows(db: Any, flush: Callable[[], None], items: list[tuple[str, bytes]]) -> Rows:
    """A dict-like store: ``update`` then ``flush`` to write, ``db[key]`` to read."""
    keys = [k for k, _ in items]

    def write() -> None:
        db.update(items)
        flush()

    def read() -> None:
        out = [db[k] for k in keys]
        assert out[0] == items[0][1]

    return write, read


def sqlitedict_rows(path: Path, items: list[tuple[str, bytes]]) -> Rows:
    from sqlitedict import SqliteDict  # type: ignore[import-not-found]

    db = SqliteDict(str(path), autocommit=False)
    return mapping_rows(db, db.commit, items)


def shelve_rows(path: Path, items: list[tuple[str, bytes]]) -> Rows:
    db = shelve.open(str(path))  # noqa: SIM115 - open for the whole run
    return mapping_rows(db, db.sync, items)


def lmdb_rows(path: Path, items: list[tuple[str, bytes]]) -> Rows:
    import lmdb  # type: ignore[import-not-found]

    env = lmdb.open(str(path), map_size=1 << 30)
    keys = [k for k, _ in items]

    def write() -> None:
        rows = [(k.encode(), v) for k, v in items]
        with env.begin(write=True) as txn:
            txn.cursor().putmulti(rows)

    def read() -> None:
        with env.begin(buffers=False) as txn:
            get = txn.get
            out = [get(k.encode()) for k in keys]
        assert out[0] == items[0][1]

    return write, read


ALTERNATIVES: dict[str, tuple[str, Callable[[Path, list[tuple[str, bytes]]], Rows]]] = {
    "diskcache (Cache, one transact)": ("diskcache", diskcache_rows),
    "sqlitedict (update + commit)": ("sqlitedict", sqlitedict_rows),
    "shelve (stdlib dbm)": ("shelve", shelve_rows),
    "lmdb (putmulti, one txn)": ("lmdb", lmdb_rows),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-alternatives", action="store_true",
                        help="only raw sqlite3 and webstore (a quick run)")
    args = parser.parse_args()
    items = [(f"user/{i:08d}", os.urandom(100)) for i in range(args.n)]
    tmp = Path(tempfile.mkdtemp(prefix="webstore-bench-"))

    async def open_store(backend: str, path: object) -> webstore.Store:
        return await webstore.open("bench", backend=backend, path=path)  # type: ignore[arg-type]

    sqlite_store = drive(open_store("sqlite", tmp / "store.sqlite3"))
    memory_store = drive(open_store("memory", "bench"))
    rows = {
        "raw sqlite3": raw_sqlite(tmp / "raw.sqlite3", items),
        "webstore SQLite backend (bytes)": webstore_rows(
            SQLiteBackend(tmp / "backend.sqlite3"), items),
        "webstore Store on SQLite (values)": webstore_rows(sqlite_store, items),
        "webstore Store on memory (values)": webstore_rows(memory_store, items),
    }
    for name, (module, make) in () if args.no_alternatives else ALTERNATIVES.items():
        try:
            rows[name] = make(tmp / module, items)
        except ImportError:
            print(f"skipped {name}: {module} is not installed (pip install -e '.[bench]')")
    results = medians(rows, args.repeat)
    raw_w, raw_r = results["raw sqlite3"]
    print(f"\n{args.n:,} values of 100 bytes, median of {args.repeat} (seconds; ratio to raw)")
    print(f"{'':38} {'set_many':>10} {'ratio':>6}   {'get_many':>10} {'ratio':>6}")
    for name, (w, r) in results.items():
        print(f"{name:38} {w:10.3f} {w / raw_w:6.2f}   {r:10.3f} {r / raw_r:6.2f}")
    w, r = results["webstore Store on SQLite (values)"]
    verdict = "met" if w / raw_w <= 1.1 and r / raw_r <= 1.1 else "MISSED"
    print(f"\ntarget Store/raw <= 1.1 for set_many and get_many: {verdict}")


if __name__ == "__main__":
    main()
