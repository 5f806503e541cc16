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
    await store.clear()
    await store.close()
    return json.dumps({"error": error, "keys": keys, "kept": kept, "cas_error": cas_error,
                       "after_cas": after_cas})
