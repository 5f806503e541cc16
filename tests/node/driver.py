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
