"""Many devices, one branch, one real Git server: nothing acknowledged is lost.

``DEVICES`` in-process devices (each its own repo on its own SQLite file) make random edits
and sync through lighttpd + ``git http-backend`` until ``PUSHES`` pushes were acknowledged in
total, or ``SECONDS`` pass (then the test fails: the run is bounded). A push the server
refuses because the branch moved (``RefMoved``) is followed by a pull (fast-forward or
three-way merge) and another push. At the end every device pulls: all hold the server's head,
every acknowledged commit is in its history, and ``git fsck --strict`` passes on the server.
Prints pushes, retries, merges and conflicts: how often the app's merge function had to
choose between two edits of one value (the figures docs/SYNC.md quotes).
``WEBSTORE_NIGHTLY=1`` runs a longer soak.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gitserver import GitServer, git

from webstore.errors import RefMoved
from webstore.remote import GitRemote, fetch, pull, push
from webstore.versioned import Counter, Repo
from webstore.versioned.history import is_ancestor
from webstore.versioned.ids import ObjectId

NIGHTLY = os.environ.get("WEBSTORE_NIGHTLY") == "1"
DEVICES = int(os.environ.get("WEBSTORE_SYNC_DEVICES", "8"))
PUSHES = int(os.environ.get("WEBSTORE_SYNC_PUSHES", "2000" if NIGHTLY else "500"))
SECONDS = 1800 if NIGHTLY else 420


@dataclass
class Stats:
    pushes: int = 0
    retries: int = 0
    merges: int = 0
    conflicts: int = 0
    acknowledged: list[ObjectId] = field(default_factory=list)


async def _device(n: int, repo: Repo, remote: GitRemote, stats: Stats, deadline: float,
                  rng: random.Random) -> None:
    main = repo.branch("main")
    while stats.pushes < PUSHES:
        if time.monotonic() > deadline:
            raise TimeoutError(f"device {n}: {stats.pushes} pushes in {SECONDS} s")
        kind = rng.random()
        if kind < 0.4:  # a note of its own: never conflicts
            await main.set(f"notes/d{n}/{rng.randrange(20)}", f"device {n} at {stats.pushes}")
        elif kind < 0.7:  # a shared counter: merges by adding increments
            current = await main.get("stats/edits", Counter(0))
            await main.set("stats/edits", current + 1)
        else:  # a shared note both sides may edit: may conflict
            await main.set("shared/title", f"title by device {n} #{rng.randrange(1000)}")
        while True:
            try:
                head = await push(repo, remote, "main")
            except RefMoved:
                stats.retries += 1
                result = await pull(repo, remote, "main")
                assert result.ok, result.conflicts  # the title resolver leaves none
                if result.changed and not result.fast_forward:
                    stats.merges += 1
                continue
            stats.pushes += 1
            stats.acknowledged.append(head)
            break
        await asyncio.sleep(0)


def _keep_ours(stats: Stats):  # type: ignore[no-untyped-def]
    """The app's merge function for ``shared/``: a real conflict is counted, ours is kept."""
    def resolve(path: str, base: object, ours: object, theirs: object) -> object:
        if ours != theirs and base not in (ours, theirs):
            stats.conflicts += 1
        return ours

    return resolve


@pytest.mark.load
def test_many_devices_one_branch(git_server: GitServer, tmp_path: Path) -> None:
    name = "load"
    git_server.make_repo(name)
    url = git_server.url(name)
    stats = Stats()
    rng = random.Random(1234)

    async def go() -> list[Repo]:
        repos = [await Repo.open(f"device{i}", path=str(tmp_path / f"d{i}.sqlite3"))
                 for i in range(DEVICES)]
        for repo in repos:
            repo.register_merge("shared", _keep_ours(stats))
        remotes = [GitRemote(url) for _ in range(DEVICES)]
        first = repos[0].branch("main")
        await first.set("stats/edits", Counter(0), message="start")
        await push(repos[0], remotes[0], "main")
        for repo, remote in zip(repos[1:], remotes[1:], strict=True):
            await pull(repo, remote, "main")
        deadline = time.monotonic() + SECONDS
        await asyncio.gather(*(
            _device(i, repos[i], remotes[i], stats, deadline, random.Random(rng.random()))
            for i in range(DEVICES)))
        for repo, remote in zip(repos, remotes, strict=True):
            await pull(repo, remote, "main")
        return repos

    started = time.monotonic()
    repos = asyncio.run(go())
    took = time.monotonic() - started
    print(f"\nsync load: {DEVICES} devices, {stats.pushes} pushes acknowledged, "
          f"{stats.retries} retries ({stats.retries / max(stats.pushes, 1):.2f} per push), "
          f"{stats.merges} merges, {stats.conflicts} contested values resolved by the app's "
          f"merge function, {took:.1f} s")

    async def check() -> None:
        server_head = git("--git-dir", git_server.path(name), "rev-parse", "main"
                          ).stdout.decode().strip()
        for repo in repos:
            head = await repo.branch("main").head()
            assert head is not None and head.hex() == server_head
            for acked in stats.acknowledged:
                assert await is_ancestor(repo.objects, acked, head)
        edits = await repos[0].branch("main").get("stats/edits")
        assert isinstance(edits, Counter) and edits.value > 0
        for repo in repos:
            await repo.close()

    asyncio.run(check())
    git("--git-dir", git_server.path(name), "fsck", "--strict")
    assert stats.pushes >= PUSHES and DEVICES >= 8


async def _edit(n: int, repo: Repo, rng: random.Random, step: int) -> None:
    main = repo.branch("main")
    kind = rng.random()
    if kind < 0.4:
        await main.set(f"notes/d{n}/{rng.randrange(20)}", f"device {n} at {step}")
    elif kind < 0.7:
        await main.set("stats/edits", await main.get("stats/edits", Counter(0)) + 1)
    else:
        await main.set("shared/title", f"title by device {n} #{rng.randrange(1000)}")


@pytest.mark.load
def test_one_branch_per_device(git_server: GitServer, tmp_path: Path) -> None:
    """Each device pushes its own branch (never refused) and merges the others' on a pull.

    The other layout docs/SYNC.md compares: no retries, more merges on the reading side.
    """
    name = "per-device"
    git_server.make_repo(name)
    url = git_server.url(name)
    stats = Stats()
    rng = random.Random(99)
    pushes = max(DEVICES * 10, PUSHES // 4)

    async def device(n: int, repo: Repo, remote: GitRemote, deadline: float) -> None:
        local_rng = random.Random(rng.random())
        step = 0
        while stats.pushes < pushes:
            if time.monotonic() > deadline:
                raise TimeoutError(f"device {n}: {stats.pushes} pushes in {SECONDS} s")
            await _edit(n, repo, local_rng, step)
            step += 1
            stats.acknowledged.append(await push(repo, remote, "main", to=f"d{n}"))
            stats.pushes += 1
            if step % 5 == 0:  # read the others: one fetch, then merge their branches locally
                refs = await fetch(repo, remote)
                for other in range(DEVICES):
                    theirs = refs.get(f"heads/d{other}")
                    if other != n and theirs is not None:
                        result = await repo.merge("main", theirs, message=f"merge d{other}")
                        if result.changed and not result.fast_forward:
                            stats.merges += 1
            await asyncio.sleep(0)

    async def go() -> None:
        repos = [await Repo.open(f"p{i}", path=str(tmp_path / f"p{i}.sqlite3"))
                 for i in range(DEVICES)]
        remotes = [GitRemote(url) for _ in range(DEVICES)]
        for repo in repos:
            repo.register_merge("shared", _keep_ours(stats))
        await repos[0].branch("main").set("stats/edits", Counter(0), message="start")
        for i, (repo, remote) in enumerate(zip(repos, remotes, strict=True)):
            if i:
                await pull(repo, remotes[0], "main", source="d0")
            await push(repo, remote, "main", to=f"d{i}")
        deadline = time.monotonic() + SECONDS
        await asyncio.gather(*(device(i, repos[i], remotes[i], deadline)
                               for i in range(DEVICES)))
        for i, (repo, remote) in enumerate(zip(repos, remotes, strict=True)):
            await push(repo, remote, "main", to=f"d{i}")  # merges made after the last push
        heads = {f"d{i}": await repos[i].branch("main").head() for i in range(DEVICES)}
        for i, repo in enumerate(repos):  # every acknowledged commit is on the server
            server = git("--git-dir", git_server.path(name), "rev-parse", f"d{i}"
                         ).stdout.decode().strip()
            assert heads[f"d{i}"] is not None and server == heads[f"d{i}"].hex()
            await repo.close()

    started = time.monotonic()
    asyncio.run(go())
    print(f"\nsync load, one branch per device: {DEVICES} devices, {stats.pushes} pushes, "
          f"0 retries (no push is ever refused), {stats.merges} merges when reading the "
          f"others, {stats.conflicts} contested values resolved (recursive merge bases "
          f"included), {time.monotonic() - started:.1f} s")
    for acked in stats.acknowledged:  # each is an ancestor of some device branch
        found = git("--git-dir", git_server.path(name), "branch", "--contains", acked.hex(),
                    check=False)
        assert found.returncode == 0 and found.stdout.strip(), acked.hex()
    git("--git-dir", git_server.path(name), "fsck", "--strict")
