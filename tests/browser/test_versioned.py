"""The versioned store in real engines: watches across tabs, and repos on two backends merging.

Two tabs of one origin share storage (Playwright: two pages of one browser context; WebKit:
two tabs of one Selenium session). Tab B commits; tab A's ``watch`` callback must receive old
head, new head and the diff, delivered by ``BroadcastChannel`` or by localStorage ``storage``
events (stores kept in localStorage, and pages where ``BroadcastChannel`` was removed). Tab A
waits on a Promise that its callback resolves (with a timeout that fails the test); nothing
sleeps or polls.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

ENGINES = [e for e in os.environ.get("WEBSTORE_ENGINES", "chromium,firefox,webkit").split(",")
           if e]
PERSISTENT = ["indexeddb", "localstorage"]
WAIT_MS = 60_000
BURST = 60
NO_BROADCAST = "delete window.BroadcastChannel;"


def pytest_generate_tests(metafunc: Any) -> None:
    if "backend" in metafunc.fixturenames:
        backends = (["indexeddb+localstorage"] if metafunc.function.__name__.startswith(
            "test_diverge") else PERSISTENT)
        cases = [(e, b) for e in ENGINES for b in backends]
        metafunc.parametrize("engine,backend", cases, ids=[f"{e}-{b}" for e, b in cases])


@pytest.fixture(scope="module")
def tabs(engines: Any, server_url: str) -> Iterator[Any]:
    """``tabs(engine, fallback=False)``: two loaded tabs (A, B) of one origin, reused."""
    opened: dict[tuple[str, bool], list[Any]] = {}

    def get(engine: str, fallback: bool = False) -> list[Any]:
        key = (engine, fallback)
        if key not in opened:
            opened[key] = engines(engine).open_tabs(
                f"{server_url}/tests/browser/page.html", 2,
                NO_BROADCAST if fallback else None)
        return opened[key]

    yield get
    for pages in opened.values():
        for page in pages:
            with contextlib.suppress(Exception):
                page.close()


def location(kind: str) -> str:
    return f"{kind}-{time.time_ns()}"


def commit(tab: Any, backend: str, where: str, path: str, value: Any) -> dict[str, Any]:
    return json.loads(tab.call("py", "repo_commit", backend, where, path,
                               json.dumps(value)))


def wait(tab: Any, key: str, count: int) -> list[dict[str, Any]]:
    got = json.loads(tab.call("py", "watch_wait", key, count, WAIT_MS))
    assert got["errors"] == [], got
    return got["events"]


def check_cross_tab(a: Any, b: Any, backend: str, channel: str) -> None:
    where = location(f"watch-{channel}")
    key = f"w-{where}"
    seed = commit(b, backend, where, "seed", 0)
    started = json.loads(a.call("py", "watch_start", backend, where, key))
    assert started == {"head": seed["new"], "channel": channel}, started
    try:
        first = commit(b, backend, where, "notes/1", {"text": "milk"})
        assert first["old"] == seed["new"]
        events = wait(a, key, 1)
        assert events == [{"old": seed["new"], "new": first["new"],
                           "changes": [["Added", "notes/1", {"text": "milk"}]]}]
        second = commit(b, backend, where, "notes/1", {"text": "oat milk"})
        events = wait(a, key, 2)
        assert events[1] == {"old": first["new"], "new": second["new"],
                             "changes": [["Updated", "notes/1", {"text": "milk"},
                                          {"text": "oat milk"}]]}
        assert len(events) == 2
    finally:
        a.call("py", "watch_stop", key, backend, where)


def test_cross_tab_watch(tabs: Any, engine: str, backend: str) -> None:
    """A commit in tab B fires tab A's watch with old head, new head and the diff."""
    a, b = tabs(engine)
    check_cross_tab(a, b, backend, "storage" if backend == "localstorage" else "broadcast")


def test_cross_tab_watch_storage_fallback(tabs: Any, engine: str, backend: str) -> None:
    """Without BroadcastChannel, localStorage ``storage`` events carry the same news."""
    a, b = tabs(engine, fallback=True)
    assert a.call("run", "import js; str(getattr(js, 'BroadcastChannel', None))") == "None"
    check_cross_tab(a, b, backend, "storage")


def test_cross_tab_prefix_watch(tabs: Any, engine: str, backend: str) -> None:
    """A prefix watch ignores commits outside its prefix (events arrive in commit order)."""
    a, b = tabs(engine)
    where = location("prefix")
    key = f"p-{where}"
    commit(b, backend, where, "inside/seed", 0)
    a.call("py", "watch_start", backend, where, key, "inside")
    try:
        outside = commit(b, backend, where, "outside/x", 1)
        inside = commit(b, backend, where, "inside/y", 2)
        assert inside["old"] == outside["new"]
        events = wait(a, key, 1)
        assert events == [{"old": outside["new"], "new": inside["new"],
                           "changes": [["Added", "inside/y", 2]]}]
        outside = commit(b, backend, where, "outside/z", 3)
        inside = commit(b, backend, where, "inside/seed", 4)
        events = wait(a, key, 2)
        assert events[1] == {"old": outside["new"], "new": inside["new"],
                             "changes": [["Updated", "inside/seed", 0, 4]]}
        assert len(events) == 2
    finally:
        a.call("py", "watch_stop", key, backend, where)


def test_cross_tab_watch_burst(tabs: Any, engine: str, backend: str) -> None:
    """Back-to-back commits in tab B reach tab A in order, each diff readable when it arrives.

    A notice must never outrun the data: for localStorage, Chromium delivered a
    ``BroadcastChannel`` message before the commit's objects were readable in the other tab,
    so such stores announce moves through ``storage`` events instead.
    """
    a, b = tabs(engine)
    where = location("burst")
    key = f"b-{where}"
    seed = commit(b, backend, where, "seed", 0)
    started = json.loads(a.call("py", "watch_start", backend, where, key))
    assert started["head"] == seed["new"]
    try:
        heads = json.loads(b.call("py", "repo_commit_many", backend, where, "burst", BURST))
        events = wait(a, key, BURST)
        assert [e["new"] for e in events] == heads
        assert [e["old"] for e in events] == [seed["new"], *heads[:-1]]
        assert [e["changes"][0][:2] for e in events] == [
            ["Added", f"burst/{i}"] for i in range(BURST)]
    finally:
        a.call("py", "watch_stop", key, backend, where)


def test_diverge_merge_conflict(tabs: Any, engine: str, backend: str) -> None:
    """Repos on IndexedDB and localStorage diverge, merge counters and dicts, then conflict."""
    a, _ = tabs(engine)
    got = json.loads(a.call("py", "diverge_and_merge", location("diverge")))
    assert got["merge"] == {"ok": True, "fast_forward": False, "conflicts": 0}, got
    assert got["visits"] == 5 and got["ls_visits"] == 5, got
    assert got["profile"] == {"name": "b", "prefs": {"x": 1, "y": 2}}, got
    assert got["push_fast_forward"] is True, got
    assert got["conflicts"] == [["title", "base", "indexeddb", "localstorage"]], got
    assert got["head_unchanged"] is True, got
    assert got["fsck"] == [True, True], got
