"""Runs inside Pyodide (Node and every browser): the suite against one backend, as JSON.

Loaded by ``tests/node/run.mjs`` and by the browser page ``tests/browser/page.html``; JS
awaits the coroutines below, so no JSPI is needed (WebKitGTK, Node 20).
"""

import json

import webstore
import webstore.testing as t
from webstore.backends import backend_class


def factory_for(backend, location):
    """``async (name) -> Store`` on ``backend`` (``None`` = auto) under ``location``."""

    async def factory(name):
        return await webstore.open(name, backend=backend, path=location)

    return factory


async def forget(backend_name, location):
    """Remove everything a run stored, so reruns start clean."""
    if backend_name == "memory":
        backend_class("memory").drop(location)
        return
    backend = await webstore.open_backend(backend_name, location=location)
    if hasattr(backend, "destroy"):
        await backend.destroy()
    else:
        await backend.delete_prefix("")
        await backend.close()


async def selection(backend, location):
    """What ``webstore.open`` picks here, and why the others were refused."""
    store = await webstore.open("selection-probe", backend=backend, path=location)
    try:
        sel = store.selection
        return {"backend": sel.backend, "reason": sel.reason, "refused": dict(sel.refused)}
    finally:
        await store.close()


async def run_suite(backend, location, examples=50, seed=0, checks=True, stateful=True):
    """Conformance checks + Hypothesis state machine; JSON ``{selection, checks, stateful}``."""
    requested = None if backend == "auto" else backend
    chosen = await selection(requested, location)
    await forget(chosen["backend"], location)
    out = {"selection": chosen, "checks": [], "stateful": None}
    try:
        if checks:
            out["checks"] = await t.run_checks(factory_for(requested, location))
        if stateful:
            out["stateful"] = await t.run_stateful(
                factory_for(requested, location), examples=examples, seed=seed)
    finally:
        await forget(chosen["backend"], location)
    return json.dumps(out)


async def selection_json(backend, location):
    """:func:`selection` as JSON text (``None`` backend = auto)."""
    return json.dumps(await selection(None if backend == "auto" else backend, location))


def persistence_values():
    """Deterministic values written before a reload/restart and compared bit-exact after."""
    import struct

    import js
    from pyodide.ffi import to_js

    from webstore.testing import every_typed_array, sample_values

    values = {f"typed{i}": v for i, v in enumerate(every_typed_array())}
    values.update({f"plain{i}": v for i, v in enumerate(sample_values())})
    nan = b"\x01\x00\x00\x00\x00\x00\xf8\x7f"
    raw = b"".join(struct.pack("<d", i * 1.1) for i in range(200_000))
    raw += nan + struct.pack("<d", -0.0)
    values["js_float64"] = js.Float64Array.new(to_js(raw).buffer)  # a real JS typed array
    values["all_bytes"] = bytes(range(256)) * 1024
    return values


async def write_values(backend, location):
    """Store :func:`persistence_values` in store ``persist`` and close it."""
    store = await webstore.open("persist", backend=backend, path=location)
    await store.set_many(persistence_values())
    await store.close()
    return json.dumps({"backend": store.backend.name, "written": len(persistence_values())})


async def check_values(backend, location):
    """Read ``persist`` back; JSON ``{"ok", "missing", "different", "count"}``."""
    from webstore.testing import same

    want = persistence_values()
    store = await webstore.open("persist", backend=backend, path=location)
    got = dict(await store.items())
    await store.close()
    missing = sorted(set(want) - set(got))
    different = sorted(k for k in want if k in got and not same(got[k], want[k]))
    return json.dumps({"ok": not missing and not different and len(got) == len(want),
                       "missing": missing, "different": different, "count": len(got)})


async def quota_check(backend, location, value_bytes, count):
    """Overfill storage in one ``set_many``: StorageFull, and nothing of it written."""
    from webstore.errors import StorageFull

    store = await webstore.open("quota", backend=backend, path=location)
    await store.clear()
    await store.set("before", "kept")
    blob = bytes(range(256)) * (value_bytes // 256)
    batch = {"before": "overwritten"} | {f"big{i}": blob for i in range(count)}
    error = None
    try:
        await store.set_many(batch)
    except StorageFull as exc:
        error = f"StorageFull: {exc}"
    except Exception as exc:
        error = f"WRONG {type(exc).__name__}: {exc}"
    keys = await store.keys()
    kept = await store.get("before")
    cas_error = None
    if error is not None and error.startswith("StorageFull"):
        try:
            await store.set_if_equals("before", "kept", blob * count)
        except StorageFull as exc:
            cas_error = f"StorageFull: {exc}"
        except Exception as exc:
            cas_error = f"WRONG {type(exc).__name__}: {exc}"
    after_cas = await store.get("before")
    # Then fill it step by step until it refuses: what was stored stays, and after deleting
    # some of it, writes work again.
    chunk = bytes(range(256)) * 2048  # 512 KiB
    filled, fill_error = 0, None
    while fill_error is None and filled < 400:
        try:
            await store.set(f"fill{filled}", chunk)
            filled += 1
        except StorageFull as exc:
            fill_error = f"StorageFull: {exc}"
        except Exception as exc:
            fill_error = f"WRONG {type(exc).__name__}: {exc}"
    names = [f"fill{i}" for i in range(filled)]
    intact = all(v == chunk for v in await store.get_many(names))
    await store.delete_many(names[:2])
    try:
        await store.set("after-delete", chunk)
        works_again = await store.get("after-delete") == chunk
    except Exception as exc:
        works_again = f"{type(exc).__name__}: {exc}"
    await store.clear()
    await store.close()
    return json.dumps({"error": error, "keys": keys, "kept": kept, "cas_error": cas_error,
                       "after_cas": after_cas, "filled": filled, "fill_error": fill_error,
                       "intact": intact, "works_again": works_again})


# -- watches across tabs (branches and key-value stores), two backends diverging and merging ---

_WATCHES = {}
_WAITERS = []


def _record(events, event):
    """Append a watch callback's ``event`` and wake the waiters it satisfies."""
    events.append(event)
    for waiter in list(_WAITERS):
        if waiter[0]():
            _WAITERS.remove(waiter)
            waiter[1]()


def _change_json(change):
    import dataclasses

    return [type(change).__name__, *dataclasses.astuple(change)]


def _hex(oid):
    return None if oid is None else oid.hex()


async def watch_start(backend, location, key, prefix=""):
    """Watch ``main`` of repo ``watched`` on ``backend``/``location``; record every callback.

    JSON ``{"head", "channel"}``: the head when the watch started and the channel kind.
    """
    from webstore.versioned import Repo

    repo = await Repo.open("watched", backend=backend, path=location)
    events = []

    def callback(old, new, changes):
        _record(events, {"old": _hex(old), "new": _hex(new),
                         "changes": [_change_json(c) for c in changes]})

    branch = repo.branch("main")
    handle = branch.watch(callback, prefix=prefix)
    _WATCHES[key] = {"owner": repo, "handle": handle, "events": events}
    channel = repo.channel
    return json.dumps({"head": _hex(await branch.head()),
                       "channel": None if channel is None else channel.kind})


async def watch_wait(key, count, timeout_ms):
    """Wait (on a Promise the callback resolves, never polling) until ``count`` callbacks arrived.

    JSON ``{"events", "errors"}``; a timeout raises naming what was awaited.
    """
    import js
    from pyodide.ffi import create_once_callable

    watch = _WATCHES[key]
    events = watch["events"]
    if len(events) < count:
        box = {}

        def executor(resolve, reject):
            box["resolve"], box["reject"] = resolve, reject

        promise = js.Promise.new(executor)
        waiter = (lambda: len(events) >= count, box["resolve"])
        _WAITERS.append(waiter)

        def expire():
            if waiter in _WAITERS:
                _WAITERS.remove(waiter)
            box["reject"](js.Error.new(
                f"watch {key!r}: {len(events)} callback(s) after {timeout_ms} ms, "
                f"wanted {count}; errors: {watch['handle'].errors!r}"))

        timer = js.setTimeout(create_once_callable(expire), timeout_ms)
        try:
            await promise
        finally:
            js.clearTimeout(timer)
    return json.dumps({"events": events, "errors": [repr(e) for e in watch["handle"].errors]})


async def watch_stop(key, backend, location):
    """Unwatch, close the repo or store and remove what the test stored."""
    watch = _WATCHES.pop(key)
    watch["handle"].unwatch()
    await watch["owner"].close()
    await forget(backend, location)


async def kv_watch_start(backend, location, key, prefix=""):
    """Watch the key-value store ``watched`` on ``backend``/``location``; record every callback.

    Each event is ``{"changes": [[key, kind], ...], "values": [...]}``, the values read by the
    callback from this tab's store (the notice must not outrun the data). Wait with
    :func:`watch_wait`, end with :func:`watch_stop`. JSON ``{"channel"}``: the channel kind.
    """
    store = await webstore.open("watched", backend=backend, path=location)
    events = []

    async def callback(changes):
        values = await store.get_many([c.key for c in changes])
        _record(events, {"changes": [list(c) for c in changes], "values": values})

    handle = store.watch(callback, prefix)
    _WATCHES[key] = {"owner": store, "handle": handle, "events": events}
    channel = store.channel
    return json.dumps({"channel": None if channel is None else channel.kind})


async def kv_write(backend, location, op, args_json):
    """Call ``Store.<op>(*args)`` on the key-value store ``watched`` (args as JSON)."""
    async with webstore.open("watched", backend=backend, path=location) as store:
        result = await getattr(store, op)(*json.loads(args_json))
    return json.dumps(result)


async def kv_write_many(backend, location, folder, count):
    """``count`` separate ``set`` calls under ``folder`` on ``watched``, back to back."""
    async with webstore.open("watched", backend=backend, path=location) as store:
        for i in range(count):
            await store.set(f"{folder}/{i}", {"n": i, "pad": "x" * 200})
    return json.dumps(count)


async def repo_commit(backend, location, path, value_json):
    """Commit JSON ``value_json`` at ``path`` on ``main`` of ``watched``; JSON ``{old, new}``."""
    from webstore.versioned import Repo

    value = json.loads(value_json)
    async with await Repo.open("watched", backend=backend, path=location) as repo:
        branch = repo.branch("main")
        old = await branch.head()
        new = await branch.set(path, value)
        return json.dumps({"old": _hex(old), "new": _hex(new)})


async def repo_commit_many(backend, location, folder, count):
    """Commit ``count`` values under ``folder`` on ``main`` of ``watched``, back to back.

    JSON list of the new heads in commit order.
    """
    from webstore.versioned import Repo

    heads = []
    async with await Repo.open("watched", backend=backend, path=location) as repo:
        branch = repo.branch("main")
        for i in range(count):
            heads.append(_hex(await branch.set(f"{folder}/{i}", {"n": i, "pad": "x" * 200})))
    return json.dumps(heads)


async def diverge_and_merge(location):
    """Repos on IndexedDB and localStorage diverge and merge (counters, dicts), then conflict.

    JSON of what happened, checked by the browser test.
    """
    from webstore.versioned import Counter, Repo, clone, fsck, pull, push

    out = {}
    idb = await Repo.open("diverge", backend="indexeddb", path=location)
    ls = await Repo.open("diverge", backend="localstorage", path=location)
    try:
        await idb.branch("main").set("stats/visits", Counter(0))
        await idb.branch("main").set("profile", {"name": "a", "prefs": {"x": 1}})
        await clone(idb, ls)
        await ls.branch("main").set("stats/visits", Counter(2))
        await ls.branch("main").set("profile", {"name": "a", "prefs": {"x": 1, "y": 2}})
        await idb.branch("main").set("stats/visits", Counter(3))
        await idb.branch("main").set("profile", {"name": "b", "prefs": {"x": 1}})
        merged = await pull(idb, ls, "main")
        out["merge"] = {"ok": merged.ok, "fast_forward": merged.fast_forward,
                        "conflicts": len(merged.conflicts)}
        out["visits"] = (await idb.branch("main").get("stats/visits")).value
        out["profile"] = await idb.branch("main").get("profile")
        out["push_fast_forward"] = (await push(idb, ls, "main")).fast_forward
        out["ls_visits"] = (await ls.branch("main").get("stats/visits")).value
        await idb.branch("main").set("title", "base")
        await push(idb, ls, "main")
        await idb.branch("main").set("title", "indexeddb")
        await ls.branch("main").set("title", "localstorage")
        head = await idb.branch("main").head()
        conflicted = await pull(idb, ls, "main")
        out["conflicts"] = [[c.path, c.base, c.ours, c.theirs] for c in conflicted.conflicts]
        out["head_unchanged"] = await idb.branch("main").head() == head
        out["fsck"] = [(await fsck(idb)).ok, (await fsck(ls)).ok]
    finally:
        await idb.close()
        await ls.close()
        await forget("indexeddb", location)
        await forget("localstorage", location)
    return json.dumps(out)


async def repo_log(backend, location, folders_json):
    """History of ``main`` of ``watched`` (every page, newest first) and the value names
    committed under each folder of ``folders_json`` (JSON list); JSON ``{"ids", "names"}``."""
    from webstore.versioned import Repo

    async with await Repo.open("watched", backend=backend, path=location) as repo:
        ids, cursor = [], None
        while True:
            page = await repo.history("main", limit=500, cursor=cursor)
            ids += [entry.hex for entry in page.entries]
            if page.cursor is None:
                break
            cursor = page.cursor
        branch = repo.branch("main")
        names = {f: [n for n, _ in await branch.list(f)] for f in json.loads(folders_json)}
    return json.dumps({"ids": ids, "names": names})
