"""Crash consistency on CPython + SQLite: SIGKILL a writer at random points, then reopen.

A forked writer commits in a loop (a versioned repo; separately, ``set_many`` on a key-value
store) and reports each write only after the call returned. The parent kills it with SIGKILL
after a seeded random number of reports (sometimes zero: killed while opening), plus a random
jitter so the kill lands anywhere in the next write. The jitter only spreads the kill points;
no assertion depends on when the kill lands. After every kill the file is reopened and:

* SQLite's ``PRAGMA integrity_check`` is ``ok``;
* repo: ``fsck`` is clean, every branch points to a complete commit, every commit reported
  before the kill is reachable from ``main``, and ``main`` is the last reported commit or
  the one in flight (its child);
* key-value: every key holds the value of one and the same batch, and that batch is the last
  reported one or the one in flight.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import pytest
from _procs import Child, fork_writer, nightly
from _writer import KV_KEYS

from webstore.backends._sqlite import SQLiteBackend
from webstore.kv.store import Store
from webstore.testing import drive
from webstore.testing.raw import raw_backend
from webstore.versioned import Repo, fsck, parse_id

KILLS = 1000 if nightly() else 100
SEED = 20261121


def _kill_at_random(child: Child, rng: random.Random) -> list[str]:
    """Let ``child`` report 0-6 writes, kill it a little later, return every report."""
    for _ in range(rng.choice([0, 1, 1, 2, 3, 4, 6])):
        if child.read_line() is None:
            break
    time.sleep(rng.uniform(0, 0.004))  # jitter only: spreads kill points within a write
    child.kill()
    child.wait()
    for _ in child.lines_until_eof():  # reports written before the kill count too
        pass
    child.close()
    return child.lines


def _integrity_check(path: Path) -> None:
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        db.close()


async def _check_repo(path: Path, confirmed: list[str]) -> tuple[int, bool]:
    """Return (objects reachable, whether the in-flight commit landed)."""
    repo = Repo.on_backend(SQLiteBackend(path), "crash")
    try:
        report = await fsck(repo)
        assert report.ok, f"fsck after a kill: {report}"
        heads = list((await repo.refs.list()).values())
        if not confirmed:
            return report.checked, bool(heads)
        head = await repo.branch("main").head()
        assert head is not None, "main vanished although commits were confirmed"
        objects = set(await repo.objects.reachable([head]))
        lost = [c for c in confirmed if parse_id(c) not in objects]
        assert not lost, f"{len(lost)} confirmed commits lost, e.g. {lost[0]}"
        last = parse_id(confirmed[-1])
        landed = head != last
        if landed:
            assert (await repo.objects.read_commit(head)).parents == (last,), \
                "main moved past the last confirmed commit by more than the one in flight"
        return report.checked, landed
    finally:
        await raw_backend(repo).close()


@pytest.mark.parametrize("engine", ["cpython-sqlite"])
def test_sigkill_repo_writer(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "crash-repo.sqlite3"
    rng = random.Random(SEED)
    confirmed: list[str] = []
    landed = checked = 0
    for _ in range(KILLS):
        child = fork_writer("repo", str(path), seed=rng.randrange(2**32))
        reports = _kill_at_random(child, rng)
        assert all(r.startswith(("C ", "D ")) for r in reports), reports
        reports = [r for r in reports if r.startswith("C ")]
        confirmed += [r[2:] for r in reports]
        if path.exists():
            _integrity_check(path)
        checked, flew = drive(_check_repo(path, confirmed))
        landed += flew
        if flew:  # the in-flight commit landed: it is now the tip later commits build on
            repo = Repo.on_backend(SQLiteBackend(path), "crash")
            head = drive(repo.branch("main").head())
            drive(raw_backend(repo).close())
            assert head is not None
            confirmed.append(head.hex())
    print(f"\n[cpython-sqlite] repo crash: kills={KILLS} commits confirmed="
          f"{len(confirmed) - landed} in-flight commits that landed={landed} lost=0 "
          f"objects verified at the end={checked}")
    assert len(confirmed) - landed >= KILLS // 2, "too few writes happened between kills"


def _check_kv(path: Path, last: int) -> int:
    """Return the batch every key holds (-1: none yet)."""
    store = Store(SQLiteBackend(path), "crash")
    try:
        values = drive(store.get_many([*KV_KEYS, "n_w"]))
    finally:
        drive(store.close())
    *keys, n = values
    if n is None:
        assert last == -1 and all(v is None for v in keys), values
        return -1
    batches = {(v[0], v[1]) for v in keys}
    assert batches == {("w", n)}, f"keys hold a mix of batches: {batches} (n_w={n})"
    assert n in (last, last + 1), f"store holds batch {n}, last confirmed is {last}"
    log = drive(_log(path))
    assert log == list(range(n + 1)), "a confirmed batch's log key is missing"
    return int(n)


async def _log(path: Path) -> list[int]:
    store = Store(SQLiteBackend(path), "crash")
    try:
        return sorted(int(k.rsplit("/", 1)[1]) for k in await store.keys("log/w/"))
    finally:
        await store.close()


@pytest.mark.parametrize("engine", ["cpython-sqlite"])
def test_sigkill_kv_set_many(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "crash-kv.sqlite3"
    rng = random.Random(SEED + 1)
    last = -1
    confirmed = landed = 0
    for _ in range(KILLS):
        child = fork_writer("kv", str(path), seed=rng.randrange(2**32))
        reports = _kill_at_random(child, rng)
        assert all(r.startswith(("B ", "D ")) for r in reports), reports
        reports = [r for r in reports if r.startswith("B ")]
        numbers = [int(r[2:]) for r in reports]
        assert numbers == list(range(last + 1, last + 1 + len(numbers))), (last, numbers)
        confirmed += len(numbers)
        last = numbers[-1] if numbers else last
        if path.exists():
            _integrity_check(path)
        held = _check_kv(path, last)
        landed += held != last
        last = held
    print(f"\n[cpython-sqlite] kv set_many crash: kills={KILLS} batches confirmed={confirmed} "
          f"in-flight batches that landed={landed} lost=0 torn batches=0")
    assert confirmed >= KILLS // 2, "too few writes happened between kills"
