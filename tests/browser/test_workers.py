"""webstore inside a dedicated Web Worker, in real engines (Chromium, Firefox, WebKitGTK).

One page per engine, ``tests/browser/worker.html?workers=2&tab=1``: two module workers
(``worker.mjs``), each with its own Pyodide and the test driver (``tests/node/driver.py``),
and a third Pyodide in the page itself (the "tab"). Worker 0 boots alone first, so its boot
time is measured undisturbed. Calls go through ``postMessage``; the driver's coroutines are
awaited from JavaScript, so nothing needs JSPI (WebKitGTK has none).

In a worker: the conformance suite and the state machine on every backend a worker has
(indexeddb, memory, auto; auto must pick indexeddb), localStorage refused with its reason,
memory stores private to each context, branch and key-value watches between worker and tab,
and two workers and the tab committing to one branch at once with nothing lost. Ids name
engine, realm (worker) and backend, e.g.
``test_conformance[chromium-worker-indexeddb-set_get_roundtrip]``.
A worker that does not start fails every test of its engine; nothing is skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import NOTES
from test_versioned import check_cross_tab as check_branch_watch
from test_watch_kv import check_cross_tab as check_kv_watch

import webstore.testing

ENGINES = [e for e in os.environ.get("WEBSTORE_ENGINES", "chromium,firefox,webkit").split(",")
           if e]
BACKENDS = ["indexeddb", "memory", "auto"]
CHECKS = webstore.testing.check_names()
#: Hypothesis examples of the state machine per worker backend (the page matrix runs 40).
EXAMPLES = int(os.environ.get("WEBSTORE_WORKER_EXAMPLES", "15"))
SEED = int(os.environ.get("WEBSTORE_SEED", "0"))
#: Commits each of the three contexts makes in the concurrency test, and its time bound.
COMMITS = int(os.environ.get("WEBSTORE_WORKER_COMMITS", "300"))
DEADLINE_MS = 240_000
DIRECTIONS = {"worker_to_tab": (0, "tab"), "tab_to_worker": ("tab", 0),
              "worker_to_worker": (0, 1)}


def pytest_generate_tests(metafunc: Any) -> None:
    names = metafunc.fixturenames
    if "check" in names:
        cases = [(e, "worker", b, c) for e in ENGINES for b in BACKENDS for c in CHECKS]
        metafunc.parametrize("engine,realm,backend,check", cases,
                             ids=["-".join(c) for c in cases])
    elif "direction" in names:
        cases = [(e, "worker", "indexeddb", d) for e in ENGINES for d in DIRECTIONS]
        metafunc.parametrize("engine,realm,backend,direction", cases,
                             ids=["-".join(c) for c in cases])
    elif "backend" in names:
        only = {"test_stateful": BACKENDS, "test_memory_per_context": ["memory"]}
        backends = only.get(metafunc.function.__name__, ["indexeddb"])
        cases = [(e, "worker", b) for e in ENGINES for b in backends]
        metafunc.parametrize("engine,realm,backend", cases, ids=["-".join(c) for c in cases])
    elif "engine" in names:
        cases = [(e, "worker") for e in ENGINES]
        metafunc.parametrize("engine,realm", cases, ids=["-".join(c) for c in cases])


class Context:
    """One Pyodide of a worker page: worker ``target`` (an index) or the page's own ("tab").

    ``call`` has the Page wrappers' signature, so the cross-tab checks take it unchanged.
    """

    def __init__(self, page: Any, target: int | str) -> None:
        self.page = page
        self.target = target

    def call(self, method: str, *args: Any) -> Any:
        return self.page.call("on", self.target, method, *args)


@pytest.fixture(scope="module")
def workers(engines: Any, server_url: str) -> Iterator[Any]:
    """``workers(engine)``: that engine's loaded worker page (two workers and a tab), reused.

    A page whose renderer crashed is replaced on the next request (conftest reruns the test).
    """
    pages: dict[str, Any] = {}
    failed: dict[str, str] = {}

    def get(engine: str) -> Any:
        if engine in failed:
            pytest.fail(f"the worker page did not start in {engine}: {failed[engine]}")
        if engine in pages and pages[engine].crashed:
            with contextlib.suppress(Exception):
                pages.pop(engine).close()
        if engine not in pages:
            try:
                pages[engine] = engines(engine).open(
                    f"{server_url}/tests/browser/worker.html?workers=2&tab=1")
            except Exception as exc:
                failed[engine] = f"{type(exc).__name__}: {exc}"
                raise
        return pages[engine]

    yield get
    for page in pages.values():
        with contextlib.suppress(Exception):
            page.close()


@pytest.fixture(scope="module")
def suite(workers: Any) -> Any:
    """The suite result of (engine, backend), run once inside worker 0 of that engine."""
    results: dict[tuple[str, str], dict[str, Any] | Exception] = {}

    def get(engine: str, backend: str) -> dict[str, Any]:
        key = (engine, backend)
        if key not in results:
            location = f"worker-suite-{backend}-{time.time_ns()}"
            try:
                results[key] = json.loads(workers(engine).call(
                    "runSuite", backend, location, EXAMPLES, SEED))
            except Exception as exc:
                results[key] = exc
        found = results[key]
        if isinstance(found, Exception):
            pytest.fail(f"the suite did not run in a {engine} worker on {backend}: {found}")
        return found

    return get


def test_worker_boot(workers: Any, engine: str, realm: str) -> None:
    """The workers start and run in a dedicated worker scope: IndexedDB, BroadcastChannel and
    Web Locks there, no window and no localStorage. Boot times go to the summary."""
    page = workers(engine)
    boot = page.call("ready")
    first, second = boot["workers"]
    NOTES.append(f"{engine} worker boot: {first['bootMs'] / 1000:.1f} s alone "
                 f"(Pyodide + wheels + driver inside the worker {first['insideMs'] / 1000:.1f} s);"
                 f" a second worker {second['bootMs'] / 1000:.1f} s while the tab's Pyodide"
                 f" ({boot['tab']['bootMs'] / 1000:.1f} s) loaded too")
    scope = json.loads(Context(page, 0).call("run", """
import js, json
json.dumps({"scope": js.constructor.name, "window": hasattr(js, "window"),
            "localStorage": hasattr(js, "localStorage"), "indexedDB": hasattr(js, "indexedDB"),
            "BroadcastChannel": hasattr(js, "BroadcastChannel"),
            "locks": hasattr(js.navigator, "locks")})"""))
    assert scope == {"scope": "DedicatedWorkerGlobalScope", "window": False,
                     "localStorage": False, "indexedDB": True, "BroadcastChannel": True,
                     "locks": True}, scope


def test_conformance(suite: Any, engine: str, realm: str, backend: str, check: str) -> None:
    result = suite(engine, backend)
    expected_backend = "indexeddb" if backend == "auto" else backend
    assert result["selection"]["backend"] == expected_backend, result["selection"]
    by_name = {c["name"]: c for c in result["checks"]}
    assert check in by_name, f"check {check} did not run in a {engine} worker on {backend}"
    assert by_name[check]["ok"], by_name[check]["error"]


def test_stateful(suite: Any, engine: str, realm: str, backend: str) -> None:
    machine = suite(engine, backend)["stateful"]
    assert machine is not None
    assert machine["ok"], f"{machine['error']}\nshrunk program: {machine['program']}"
    assert machine["examples"] >= min(EXAMPLES, 10)


def test_localstorage_refused(workers: Any, engine: str, realm: str) -> None:
    """A worker has no localStorage: asking for it raises StorageUnavailable with the reason,
    and auto picks IndexedDB."""
    worker = Context(workers(engine), 0)
    got = json.loads(worker.call("run", """
import webstore, json
try:
    await webstore.open("x", backend="localstorage", path="refused")
    out = None
except webstore.StorageUnavailable as exc:
    out = [exc.backend, exc.reason]
json.dumps(out)"""))
    assert got is not None, "backend='localstorage' opened in a worker"
    assert got[0] == "localstorage" and re.search(r"localStorage is not defined", got[1]), got
    chosen = json.loads(worker.call("selection", "auto", f"worker-auto-{time.time_ns()}"))
    assert chosen["backend"] == "indexeddb", chosen


def test_memory_per_context(workers: Any, engine: str, realm: str, backend: str) -> None:
    """A memory store lives in its own context: the other worker and the tab do not see it."""
    page = workers(engine)
    where = f"worker-memory-{time.time_ns()}"

    def kv(target: int | str, op: str, *args: Any) -> Any:
        return json.loads(Context(page, target).call(
            "py", "kv_write", backend, where, op, json.dumps(args)))

    kv(0, "set", "k", [1, 2])
    assert kv(0, "get", "k") == [1, 2]
    assert kv(1, "get", "k") is None
    assert kv("tab", "get", "k") is None


def test_branch_watch_across(workers: Any, engine: str, realm: str, backend: str,
                             direction: str) -> None:
    """A commit in one context fires a branch watch in another (old head, new head, diff)."""
    page = workers(engine)
    committer, watcher = DIRECTIONS[direction]
    check_branch_watch(Context(page, watcher), Context(page, committer), backend, "broadcast")


def test_kv_watch_across(workers: Any, engine: str, realm: str, backend: str,
                         direction: str) -> None:
    """Key-value writes in one context fire ``Store.watch`` in another, once per batch."""
    page = workers(engine)
    committer, watcher = DIRECTIONS[direction]
    check_kv_watch(Context(page, watcher), Context(page, committer), backend, "broadcast")


def test_concurrent_commits(workers: Any, engine: str, realm: str, backend: str) -> None:
    """Two workers and the tab each commit COMMITS times to ``main`` of one fresh IndexedDB
    repo (each under its own folder), all at once: every commit is in the history and every
    value in the tree, within DEADLINE_MS (a versionchange or lock deadlock would time out)."""
    page = workers(engine)
    where = f"worker-race-{time.time_ns()}"
    folders = {0: "w0", 1: "w1", "tab": "tab"}
    started = time.monotonic()
    results = page.call("together", [[target, "py", "repo_commit_many", backend, where,
                                      folder, COMMITS] for target, folder in folders.items()],
                        DEADLINE_MS)
    elapsed = time.monotonic() - started
    try:
        done = dict(zip(folders.values(), results, strict=True))
        heads = {folder: json.loads(r["value"]) for folder, r in done.items()}
        log = json.loads(Context(page, "tab").call("py", "repo_log", backend, where,
                                                   json.dumps(list(folders.values()))))
    finally:
        Context(page, "tab").call("py", "forget", backend, where)
    NOTES.append(f"{engine} workers: {3 * COMMITS} concurrent commits (2 workers + tab) in "
                 f"{elapsed:.1f} s; per context "
                 + ", ".join(f"{f} {r['ms'] / 1000:.1f} s" for f, r in done.items()))
    ids = log["ids"]
    assert len(ids) == len(set(ids)) == 3 * COMMITS, len(ids)
    position = {h: i for i, h in enumerate(ids)}
    spans = []
    for folder, made in heads.items():
        assert len(made) == COMMITS, (folder, len(made))
        lost = [h for h in made if h not in position]
        assert not lost, f"{len(lost)} commits of {folder} are not in the history"
        assert sorted(log["names"][folder], key=int) == [str(i) for i in range(COMMITS)], folder
        spans.append((position[made[-1]], position[made[0]]))  # history is newest first
    # The writers really raced: each one's commits are interleaved with the others'.
    assert all(lo < other_hi and other_lo < hi for lo, hi in spans
               for other_lo, other_hi in spans), spans
