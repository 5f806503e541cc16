"""Conformance checks for the versioned repo layer, on every backend in every runtime.

Each check is ``async def check_<name>(factory)`` where ``factory(name)`` opens the
:class:`~webstore.Store` ``name`` on the backend under test; the repo lives beside that store.
The repos a check creates use ``factory.object_format`` (``"sha1"`` / ``"sha256"``) when the
factory has that attribute, else the default. Collected in :data:`REPO_CHECKS`; nothing here
imports CPython-only modules.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from webstore.backends import Backend
from webstore.errors import Conflict, IntegrityError, InvalidKey, KeyNotFound, RefMoved
from webstore.kv.store import Store
from webstore.testing._runner import Check, StoreFactory
from webstore.versioned import (
    Added,
    AddWinsSet,
    Counter,
    LastWriterWins,
    Removed,
    Repo,
    Updated,
    clone,
    fsck,
    pull,
    push,
    to_hex,
)
from webstore.versioned.repo import repo_prefix

__all__ = ["REPO_CHECKS"]

_mem = itertools.count()


def _clock() -> Callable[[], float]:
    ticks = itertools.count(1_700_000_000)
    return lambda: float(next(ticks))


async def _fresh(factory: StoreFactory, name: str) -> tuple[Store, Repo]:
    store = await factory(name)
    await store.backend.delete_prefix(repo_prefix(store.name))
    fmt = getattr(factory, "object_format", None)
    return store, await Repo.open(store, clock=_clock(), object_format=fmt)


def _memory_repo(like: Repo) -> Repo:
    """A peer in another backend, in ``like``'s object format."""
    return Repo.memory(f"conf-peer-{next(_mem)}", clock=_clock(),
                       object_format=like.object_format)


async def _expect(exc_type: type[BaseException], awaitable: Any) -> BaseException:
    try:
        await awaitable
    except exc_type as exc:
        return exc
    raise AssertionError(f"expected {exc_type.__name__}, nothing was raised")


async def check_set_get_list_history(factory: StoreFactory) -> None:
    """Paths hold values; get/find return None when missing, require raises; history pages."""
    store, repo = await _fresh(factory, "vconf.basic")
    main = repo.branch("main")
    assert await main.head() is None and await main.find("a") is None
    for i in range(5):
        await main.set(f"dir/k{i}", {"i": i, "blob": bytes([i])}, message=f"write {i}")
    assert await main.get("dir/k3") == {"i": 3, "blob": b"\x03"}
    assert await main.get("dir/none", "dflt") == "dflt"
    assert await main.find("dir") is None  # a subtree is not a value
    await _expect(KeyNotFound, main.require("dir/none"))
    assert [n for n, _ in await main.list("dir")] == [f"k{i}" for i in range(5)]
    assert await main.list("") == [("dir", "tree")]
    page = await main.history(limit=2)
    assert [e.message for e in page.entries] == ["write 4", "write 3"]
    rest = await main.history(limit=10, cursor=page.cursor)
    assert [e.message for e in rest.entries] == ["write 2", "write 1", "write 0"]
    assert rest.cursor is None
    await main.remove("dir/k0")
    assert await main.find("dir/k0") is None and len(await main.items("dir")) == 4
    await _expect(InvalidKey, main.set("a/../b", 1))
    await _expect(InvalidKey, main.set(".git/x", 1))
    await store.close()


async def check_transaction_is_one_commit(factory: StoreFactory) -> None:
    """A transaction commits all its changes as one commit, or nothing on error."""
    store, repo = await _fresh(factory, "vconf.tx")
    main = repo.branch("main")
    await main.set("keep", 1)
    before = await main.head()
    async with main.transaction("three at once") as tx:
        tx.set("a/x", 1)
        tx.set("a/y", 2)
        tx.remove("keep")
        assert await tx.find("a/x") == 1 and await tx.find("keep") is None
    page = await main.history()
    assert page.entries[0].message == "three at once"
    assert page.entries[0].commit.parents == (before,)
    assert await main.items() == [("a/x", 1), ("a/y", 2)]
    head = await main.head()
    try:
        async with main.transaction("fails") as tx:
            tx.set("b", 1)
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    try:
        async with main.transaction("bad value") as tx:
            tx.set("c", object())
    except TypeError:
        pass
    assert await main.head() == head and await main.find("b") is None
    await store.close()


async def check_time_travel_and_tags(factory: StoreFactory) -> None:
    """``at(commit)`` and tags read old snapshots after the branch moved on."""
    store, repo = await _fresh(factory, "vconf.travel")
    main = repo.branch("main")
    first = await main.set("v", "one")
    await main.tag("v1")
    await main.set("v", "two")
    assert await (await repo.at(first)).get("v") == "one"
    assert await (await repo.at("v1")).get("v") == "one"
    assert await (await repo.at(to_hex(first))).get("v") == "one"
    assert await main.get("v") == "two"
    assert list(await repo.tags()) == ["v1"]
    await _expect(RefMoved, repo.tag("v1", "main"))
    fork = await repo.create_branch("dev", "main")
    await fork.set("v", "dev")
    assert sorted(await repo.branches()) == ["dev", "main"] and await main.get("v") == "two"
    await repo.delete_branch("dev")
    assert await repo.branches() == ["main"]
    await store.close()


async def check_diff_values(factory: StoreFactory) -> None:
    """Diff reports Added / Removed / Updated with paths and values, prefix-restricted."""
    store, repo = await _fresh(factory, "vconf.diff")
    main = repo.branch("main")
    async with main.transaction() as tx:
        for i in range(20):
            tx.set(f"g{i % 4}/k{i}", i)
    a = await main.head()
    async with main.transaction() as tx:
        tx.set("g0/k0", "changed")
        tx.remove("g1/k1")
        tx.set("g3/new", [1])
    b = await main.head()
    changes = await repo.diff(a, b)
    assert changes == [Updated("g0/k0", 0, "changed"), Removed("g1/k1", 1),
                       Added("g3/new", [1])], changes
    assert await repo.diff(a, b, prefix="g3") == [Added("g3/new", [1])]
    assert await repo.diff(a, a) == []
    await store.close()


async def check_merge_mergeable_types(factory: StoreFactory) -> None:
    """Diverged branches merge counters, dicts, registers and sets without conflict."""
    store, repo = await _fresh(factory, "vconf.merge")
    main = repo.branch("main")
    async with main.transaction("base") as tx:
        tx.set("likes", Counter(10))
        tx.set("profile", {"name": "ann", "tags": {"a": 1}})
        tx.set("reg", LastWriterWins("base", 1.0, "x"))
        tx.set("set", AddWinsSet({"a", "b"}))
    dev = await repo.create_branch("dev", "main")
    async with main.transaction("ours") as tx:
        tx.set("likes", Counter(13))
        tx.set("profile", {"name": "ann", "tags": {"a": 1, "b": 2}})
        tx.set("reg", LastWriterWins("ours", 2.0, "x"))
        tx.set("set", AddWinsSet({"a", "c"}))
        tx.set("only-ours", 1)
    async with dev.transaction("theirs") as tx:
        tx.set("likes", Counter(15))
        tx.set("profile", {"name": "bob", "tags": {"a": 1}})
        tx.set("reg", LastWriterWins("theirs", 3.0, "y"))
        tx.set("set", AddWinsSet({"a", "b", "d"}))
    result = await main.merge("dev")
    assert result.ok and result.commit == await main.head(), result
    assert await main.get("likes") == Counter(18)
    assert await main.get("profile") == {"name": "bob", "tags": {"a": 1, "b": 2}}
    assert (await main.get("reg")).value == "theirs"
    assert await main.get("set") == AddWinsSet({"a", "c", "d"})
    assert await main.get("only-ours") == 1
    head = await main.require("likes")
    assert head == Counter(18)
    ff = await dev.merge("main")
    assert ff.fast_forward and await dev.head() == await main.head()
    again = await main.merge("dev")
    assert again.ok and not again.changed
    await store.close()


async def check_conflict_reports_three_versions(factory: StoreFactory) -> None:
    """A real conflict comes back with base/ours/theirs and nothing is committed."""
    store, repo = await _fresh(factory, "vconf.conflict")
    main = repo.branch("main")
    await main.set("title", "base")
    dev = await repo.create_branch("dev", "main")
    await main.set("title", "ours")
    await dev.set("title", "theirs")
    await dev.set("other", 1)
    head = await main.head()
    result = await main.merge("dev")
    assert not result.ok and result.commit is None
    [c] = result.conflicts
    assert (c.path, c.base, c.ours, c.theirs) == ("title", "base", "ours", "theirs")
    assert await main.head() == head and await main.find("other") is None
    repo.register_merge("title", lambda path, base, ours, theirs: f"{ours}+{theirs}")
    result = await main.merge("dev")
    assert result.ok and await main.get("title") == "ours+theirs"
    await store.close()


class _Kept(logging.Handler):
    """Keeps log records (the watch check asserts that a failing callback is logged)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def check_watch_after_commit(factory: StoreFactory) -> None:
    """Watches get old head, new head and the diff; prefix filters; unwatch stops them."""
    store, repo = await _fresh(factory, "vconf.watch")
    main = repo.branch("main")
    seen: list[tuple[Any, Any, list[Any]]] = []
    under: list[list[Any]] = []

    async def on_all(old: Any, new: Any, diff: list[Any]) -> None:
        assert await main.head() == new  # durable before we are told
        seen.append((old, new, diff))

    handle = main.watch(on_all)
    sub = main.watch(lambda old, new, diff: under.append(diff), prefix="a")
    first = await main.set("a/x", 1)
    second = await main.set("b", 2)
    assert seen == [(None, first, [Added("a/x", 1)]), (first, second, [Added("b", 2)])]
    assert under == [[Added("a/x", 1)]]
    other = await Repo.open(await factory("vconf.watch"))  # same storage, another instance
    await other.branch("main").set("a/x", 5)
    assert under[-1] == [Updated("a/x", 1, 5)]

    def failing(old: Any, new: Any, diff: list[Any]) -> None:
        raise ValueError("callback failed")

    log = logging.getLogger("webstore.watch")
    keep = _Kept()
    log.addHandler(keep)
    log.propagate = False
    try:  # a raising callback neither undoes the commit nor stops others, and is logged
        bad = main.watch(failing)
        third = await main.set("c", 3)
    finally:
        log.removeHandler(keep)
        log.propagate = True
    assert await main.head() == third and seen[-1][1] == third
    assert [type(e) for e in bad.errors] == [ValueError]
    assert [r.exc_info[0] for r in keep.records if r.exc_info] == [ValueError]
    main.unwatch(bad)
    main.unwatch(handle)
    sub.unwatch()
    await main.set("a/x", 3)
    assert len(seen) == 4 and len(under) == 2
    await store.close()


class _Racing(Backend):
    """Delegates to a backend; runs ``hook`` once, just before the first ``set_many``."""

    name = "racing"

    def __init__(self, inner: Backend, hook: Callable[[], Any]) -> None:
        super().__init__()
        self.inner = inner
        self.capabilities = inner.capabilities
        self.hook: Callable[[], Any] | None = hook
        self.location = f"racing-{id(self)}"

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        # docstring inherited
        return await self.inner.get_many(keys)

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        # docstring inherited
        if self.hook is not None:
            hook, self.hook = self.hook, None
            await hook()
        await self.inner.set_many(items)

    async def delete_many(self, keys: Sequence[str]) -> None:
        # docstring inherited
        await self.inner.delete_many(keys)

    async def keys(self, prefix: str = "") -> list[str]:
        # docstring inherited
        return await self.inner.keys(prefix)

    async def set_if_equals(self, key: str, expected: bytes | None, new: bytes | None) -> bool:
        # docstring inherited
        return await self.inner.set_if_equals(key, expected, new)


async def check_sync_push_pull_clone(factory: StoreFactory) -> None:
    """Push/pull/clone with a memory repo copy only missing objects and merge diverged work."""
    store, repo = await _fresh(factory, "vconf.sync")
    peer = _memory_repo(repo)
    main = repo.branch("main")
    await main.set("n", Counter(1))
    await main.set("doc", {"a": 1})
    copied = await clone(repo, peer)
    assert "heads/main" in copied and await peer.branch("main").get("doc") == {"a": 1}
    await peer.branch("main").set("n", Counter(5))
    await peer.branch("main").set("doc", {"a": 1, "b": 2})
    await main.set("n", Counter(3))
    await main.set("doc", {"a": 1, "c": 3})
    await _expect(Conflict, push(peer, repo, "main"))
    result = await pull(repo, peer, "main")
    assert result.ok, result.conflicts
    assert await main.get("n") == Counter(7)
    assert await main.get("doc") == {"a": 1, "c": 3, "b": 2}
    pushed = await push(repo, peer, "main")
    assert pushed.fast_forward and await peer.branch("main").head() == await main.head()
    report = await fsck(peer)
    assert report.ok and report.checked > 0, report
    await store.close()


async def check_ref_moved_refused(factory: StoreFactory) -> None:
    """A branch moved concurrently makes transactions and pushes fail with RefMoved."""
    store, repo = await _fresh(factory, "vconf.race")
    main = repo.branch("main")
    await main.set("k", 0)
    try:
        async with main.transaction() as tx:
            tx.set("k", 1)
            await repo.branch("main").set("other", 9)  # another writer moves the branch
    except RefMoved as exc:
        assert exc.ref == "heads/main"
    else:
        raise AssertionError("transaction on a moved branch was committed")
    assert await main.get("k") == 0
    peer = _memory_repo(repo)
    await peer.branch("main").set("p", 1)
    target = Repo.on_backend(
        _Racing(store.backend, lambda: repo.branch("main").set("race", 1)), store.name)
    await push(peer, target, "main", to="mirror")  # first push: hook moves main, not mirror
    await peer.branch("main").set("p", 2)
    racing = Repo.on_backend(
        _Racing(store.backend, lambda: repo.branch("mirror").set("sneaky", 1)), store.name)
    await _expect(RefMoved, push(peer, racing, "main", to="mirror"))
    assert await repo.branch("mirror").get("p") == 1
    await store.close()


async def check_corruption_detected(factory: StoreFactory) -> None:
    """A flipped byte in a stored object raises IntegrityError naming it; fsck reports it."""
    store, repo = await _fresh(factory, "vconf.corrupt")
    main = repo.branch("main")
    await main.set("a/b", "precious")
    await main.set("a/c", "other")
    entry = (await repo.objects.read_tree((await repo.commit("main")).tree)).entries["a"]
    blob_id = (await repo.objects.read_tree(entry.id)).entries["b"].id
    key = repo_prefix(store.name) + "o/" + to_hex(blob_id)  # raw bypass, as a disk would
    raw = bytearray(await store.backend.get(key) or b"")
    raw[-1] ^= 0x01
    await store.backend.set_many([(key, bytes(raw))])
    fresh = await Repo.open(store)
    exc = await _expect(IntegrityError, fresh.branch("main").get("a/b"))
    assert to_hex(blob_id) in str(exc) and getattr(exc, "key", None) == to_hex(blob_id)
    report = await fsck(fresh)
    assert not report.ok and to_hex(blob_id) in report.corrupt
    await store.backend.delete_many([key])
    report = await fsck(fresh)
    assert to_hex(blob_id) in report.missing
    peer = _memory_repo(fresh)
    await _expect(IntegrityError, clone(fresh, peer))
    assert await peer.refs.list() == {}
    await store.close()


async def check_reopen_sees_history(factory: StoreFactory) -> None:
    """Closing and reopening the store shows the same branches and history."""
    store, repo = await _fresh(factory, "vconf.reopen")
    await repo.branch("main").set("x", [1, 2])
    head = await repo.branch("main").head()
    await store.close()
    again = await Repo.open(await factory("vconf.reopen"))
    assert await again.branch("main").head() == head
    assert await again.branch("main").get("x") == [1, 2]


REPO_CHECKS: dict[str, Check] = {
    name[len("check_"):]: fn for name, fn in sorted(globals().items())
    if name.startswith("check_") and callable(fn)
}
"""Every repo check by name (without the ``check_`` prefix)."""

