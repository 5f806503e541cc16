# Named so it runs after test_matrix.py: the matrix boots its shared pages before any tab pair.
"""Key-value change events across tabs, in real engines.

Two tabs of one origin share storage (Playwright: two pages of one browser context; WebKit:
two tabs of one Selenium session). Tab B writes to the store; tab A's ``Store.watch`` callback
must receive one event per batch with the keys and kinds, delivered by ``BroadcastChannel`` or
by localStorage ``storage`` events (stores kept in localStorage, and pages where
``BroadcastChannel`` was removed). The callback reads the values from its own tab's store:
a notice must never outrun the data. Tab A waits on a Promise its callback resolves (with a
timeout that fails the test); nothing sleeps or polls.
"""

from __future__ import annotations

import json
import time
from typing import Any

# Two tabs per engine and the wait on a watch are the branch watches' (one fixture, one helper).
from test_versioned import ENGINES, PERSISTENT, tabs, wait

__all__ = ["tabs"]  # the fixture, used by name
BURST = 60


def pytest_generate_tests(metafunc: Any) -> None:
    if "backend" in metafunc.fixturenames:
        cases = [(e, b) for e in ENGINES for b in PERSISTENT]
        metafunc.parametrize("engine,backend", cases, ids=[f"{e}-{b}" for e, b in cases])


def location(kind: str) -> str:
    return f"kv-{kind}-{time.time_ns()}"


def write(tab: Any, backend: str, where: str, op: str, *args: Any) -> Any:
    return json.loads(tab.call("py", "kv_write", backend, where, op, json.dumps(args)))


def check_cross_tab(a: Any, b: Any, backend: str, channel: str) -> None:
    where = location(channel)
    key = f"kw-{where}"
    write(b, backend, where, "set", "seed", 0)
    started = json.loads(a.call("py", "kv_watch_start", backend, where, key))
    assert started == {"channel": channel}, started
    # Each write is awaited in tab A before the next, so the values it reads are that write's.
    steps: list[tuple[tuple[Any, ...], dict[str, Any] | None]] = [
        (("set_many", {"notes/1": {"text": "milk"}, "notes/2": [1, 2]}),
         {"changes": [["notes/1", "set"], ["notes/2", "set"]],
          "values": [{"text": "milk"}, [1, 2]]}),
        (("set", "notes/1", {"text": "oat milk"}),
         {"changes": [["notes/1", "set"]], "values": [{"text": "oat milk"}]}),
        (("delete_many", ["notes/2", "seed"]),
         {"changes": [["notes/2", "delete"], ["seed", "delete"]], "values": [None, None]}),
        (("set_if_equals", "notes/1", {"text": "nope"}, 1), None),  # did not write: no event
        (("set_if_equals", "notes/3", None, 3), {"changes": [["notes/3", "set"]], "values": [3]}),
        (("clear",), {"changes": [["notes/1", "delete"], ["notes/3", "delete"]],
                      "values": [None, None]}),
    ]
    try:
        want: list[dict[str, Any]] = []
        for args, event in steps:
            write(b, backend, where, *args)
            if event is not None:
                want.append(event)
                assert wait(a, key, len(want)) == want
    finally:
        a.call("py", "watch_stop", key, backend, where)


def test_kv_cross_tab_watch(tabs: Any, engine: str, backend: str) -> None:
    """Writes in tab B fire tab A's watch once per batch, with keys and kinds."""
    a, b = tabs(engine)
    check_cross_tab(a, b, backend, "storage" if backend == "localstorage" else "broadcast")


def test_kv_cross_tab_watch_storage_fallback(tabs: Any, engine: str, backend: str) -> None:
    """Without BroadcastChannel, localStorage ``storage`` events carry the same news."""
    a, b = tabs(engine, fallback=True)
    assert a.call("run", "import js; str(getattr(js, 'BroadcastChannel', None))") == "None"
    check_cross_tab(a, b, backend, "storage")


def test_kv_cross_tab_prefix_watch(tabs: Any, engine: str, backend: str) -> None:
    """A prefix watch gets only its keys and ignores batches outside its prefix."""
    a, b = tabs(engine)
    where = location("prefix")
    key = f"kp-{where}"
    a.call("py", "kv_watch_start", backend, where, key, "inside/")
    try:
        write(b, backend, where, "set", "outside/x", 1)
        write(b, backend, where, "set_many", {"outside/y": 2, "inside/a": 3, "inside/b": 4})
        first = {"changes": [["inside/a", "set"], ["inside/b", "set"]], "values": [3, 4]}
        assert wait(a, key, 1) == [first]
        write(b, backend, where, "delete", "outside/x")
        write(b, backend, where, "delete_many", ["inside/a"])
        assert wait(a, key, 2) == [first, {"changes": [["inside/a", "delete"]],
                                           "values": [None]}]
    finally:
        a.call("py", "watch_stop", key, backend, where)


def test_kv_cross_tab_watch_burst(tabs: Any, engine: str, backend: str) -> None:
    """Back-to-back writes in tab B reach tab A in order, each value readable when it arrives."""
    a, b = tabs(engine)
    where = location("burst")
    key = f"kb-{where}"
    a.call("py", "kv_watch_start", backend, where, key)
    try:
        assert json.loads(b.call("py", "kv_write_many", backend, where, "burst", BURST)) == BURST
        events = wait(a, key, BURST)
        assert [e["changes"] for e in events] == [[[f"burst/{i}", "set"]] for i in range(BURST)]
        assert [e["values"][0]["n"] for e in events] == list(range(BURST))
    finally:
        a.call("py", "watch_stop", key, backend, where)
