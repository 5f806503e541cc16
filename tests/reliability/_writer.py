"""Writers that loop forever, reporting each write only after its call has returned.

Used by the crash and concurrency tests, which run them in child processes and SIGKILL them,
or run two at once on one SQLite file. Each report is one line written with a single
``os.write`` (atomic on a pipe), so a line the parent read is a write that completed.

Run by hand: ``python tests/reliability/_writer.py repo|kv|repo-n|kv-n PATH [WRITER] [N]``.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import zlib
from typing import Any

from webstore.backends._sqlite import SQLiteBackend
from webstore.errors import RefMoved
from webstore.kv.store import Store
from webstore.testing import drive
from webstore.testing.raw import raw_backend
from webstore.versioned import Repo, to_hex

KV_KEYS = [f"k{i}" for i in range(10)]


def _say(fd: int, line: str) -> None:
    os.write(fd, (line + "\n").encode())


async def repo_loop(path: str, fd: int, seed: int, writer: str = "w", count: int = -1,
                    ready: int | None = None) -> None:
    """Commit 1-5 paths per transaction to ``main``; report ``C <commit id>`` after each.

    Concurrent writers retry a transaction that lost the compare-and-set race (RefMoved),
    as the repo is designed to be used; each commit writes paths of its own writer.
    """
    rng = random.Random(seed)
    repo = Repo.on_backend(SQLiteBackend(path), "crash")
    main = repo.branch("main")
    if ready is not None:
        _say(fd, "ready")
        os.read(ready, 1)  # wait for "go", so concurrent writers really overlap
    i = retries = gave_up = 0
    while count < 0 or i < count:
        if i % 2:  # Branch.set re-applies the change on a moved head, up to 32 times
            while True:
                try:
                    commit = await main.set(f"{writer}/last", i, message=f"{writer} commit {i}")
                    break
                except RefMoved:  # it gave up: the other writer won 32 races in a row
                    gave_up += 1
        else:  # a transaction refuses a moved head: retry it, as callers are meant to
            while True:
                try:
                    async with main.transaction(f"{writer} commit {i}") as tx:
                        for j in range(rng.randint(1, 5)):
                            tx.set(f"{writer}/{i % 50}/{j}",
                                   [i, rng.randbytes(rng.randint(0, 8000))])
                        tx.set(f"{writer}/last", i)
                    break
                except RefMoved:
                    retries += 1
            assert tx.commit is not None
            commit = tx.commit
        _say(fd, f"C {to_hex(commit)}")
        i += 1
    _say(fd, f"D {retries} {gave_up}")
    await raw_backend(repo).close()


def kv_batch(writer: str, i: int) -> dict[str, Any]:
    """Batch ``i`` of ``writer``: every key gets ``[writer, i, payload]`` (0-16 KB payload)."""
    digest = hashlib.sha256(f"{writer}/{i}".encode()).digest()
    payload = digest * (digest[0] * 2)
    batch: dict[str, Any] = {k: [writer, i, payload] for k in KV_KEYS}
    batch[f"n_{writer}"] = i
    batch[f"log/{writer}/{i}"] = True
    return batch


async def kv_loop(path: str, fd: int, seed: int, writer: str = "w", count: int = -1,
                  ready: int | None = None) -> None:
    """``set_many`` batches writing ``(writer, i)`` to every key; report ``B <i>`` after each.

    Batch ``i`` also writes ``n_<writer> = i`` and a log key, so the parent can tell which
    batches landed; a reader check after each batch asserts every key holds one batch's value.
    """
    del seed  # batches are a function of (writer, i), so the parent can rebuild them
    store = Store(SQLiteBackend(path), "crash")
    start = await store.get(f"n_{writer}", -1) + 1
    if ready is not None:
        _say(fd, "ready")
        os.read(ready, 1)
    i, foreign = start, 0
    while count < 0 or i < start + count:
        await store.set_many(kv_batch(writer, i))
        _say(fd, f"B {i}")
        seen = await store.get_many(KV_KEYS)
        if len({(v[0], v[1]) for v in seen}) != 1:
            raise AssertionError(f"a snapshot mixes batches: {[v[:2] for v in seen]}")
        foreign += seen[0][0] != writer  # another writer's batch landed in between
        i += 1
    _say(fd, f"D {foreign}")
    await store.close()


LOOPS = {"repo": repo_loop, "kv": kv_loop}


def run_child(kind: str, path: str, fd: int, seed: int, writer: str = "w", count: int = -1,
              ready: int | None = None) -> int:
    """Run one loop in this (child) process; report ``E <error>`` and return 1 on failure."""
    try:
        drive(LOOPS[kind](path, fd, seed, writer, count, ready))
    except BaseException as exc:  # the parent turns this into a test failure
        _say(fd, f"E {type(exc).__name__}: {exc!r}"[:2000].replace("\n", " "))
        return 1
    return 0


if __name__ == "__main__":
    kind, target = sys.argv[1], sys.argv[2]
    who = sys.argv[3] if len(sys.argv) > 3 else "w"
    n = int(sys.argv[4]) if len(sys.argv) > 4 else -1
    sys.exit(run_child(kind, target, 1, zlib.crc32(who.encode()), who, n))
