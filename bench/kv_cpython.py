"""Key-value throughput on CPython: webstore vs raw sqlite3, side by side in one run.

100,000 values of 100 bytes. Raw sqlite3 uses an identical table (BLOB key primary key,
WITHOUT ROWID, WAL), one ``executemany`` transaction to write, and chunked ``IN (...)``
SELECTs to read — what a careful hand-written program does. Prints best-of-N seconds and
the ratio to raw. Target: webstore / raw <= 1.5 for both set_many and get_many.

    .venv/bin/python bench/kv_cpython.py [--n 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import webstore
from webstore.backends._sqlite import SQLiteBackend
from webstore.testing import drive

CHUNK = 500


def best(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_sqlite(path: Path, items: list[tuple[str, bytes]]) -> tuple[Callable[[], None], ...]:
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
                  ) -> tuple[Callable[[], None], ...]:
    """Write and read closures for a Store (values) or a Backend (bytes): same calls."""
    keys = [k for k, _ in items]

    def write() -> None:
        drive(target.set_many(items))

    def read() -> None:
        out = drive(target.get_many(keys))
        assert out[0] == items[0][1]

    return write, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    items = [(f"user/{i:08d}", os.urandom(100)) for i in range(args.n)]
    tmp = Path(tempfile.mkdtemp(prefix="webstore-bench-"))

    async def open_store(backend: str, **kw: object) -> webstore.Store:
        return await webstore.open("bench", backend=backend, **kw)  # type: ignore[arg-type]

    sqlite_store = drive(open_store("sqlite", path=tmp / "store.sqlite3"))
    memory_store = drive(open_store("memory", location="bench"))
    rows = {
        "raw sqlite3": raw_sqlite(tmp / "raw.sqlite3", items),
        "webstore SQLite backend (bytes)": webstore_rows(
            SQLiteBackend(tmp / "backend.sqlite3"), items),
        "webstore Store on SQLite (values)": webstore_rows(sqlite_store, items),
        "webstore Store on memory (values)": webstore_rows(memory_store, items),
    }
    results = {name: (best(w, args.repeat), best(r, args.repeat))
               for name, (w, r) in rows.items()}
    raw_w, raw_r = results["raw sqlite3"]
    print(f"\n{args.n:,} values of 100 bytes, best of {args.repeat} (seconds; ratio to raw)")
    print(f"{'':38} {'set_many':>10} {'ratio':>6}   {'get_many':>10} {'ratio':>6}")
    for name, (w, r) in results.items():
        print(f"{name:38} {w:10.3f} {w / raw_w:6.2f}   {r:10.3f} {r / raw_r:6.2f}")
    w, r = results["webstore Store on SQLite (values)"]
    verdict = "met" if w / raw_w <= 1.5 and r / raw_r <= 1.5 else "MISSED"
    print(f"\ntarget webstore/raw <= 1.5 for set_many and get_many: {verdict}")


if __name__ == "__main__":
    main()
