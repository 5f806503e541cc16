"""The Pyodide runtime's services: Web Locks, channels, the event loop, JS arrays, quota.

What :class:`webstore._runtime.Services` declares, as a browser (or Node) provides it.

Pyodide's asyncio loop *is* the JS event loop (``pyodide.webloop``), so scheduling needs no
runner of its own. Under Node there are no other tabs: no channel (an open
``BroadcastChannel`` would keep the process alive) and no lock.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any, TypeVar

import js
from pyodide.ffi import run_sync, to_js

from webstore._runtime import Channel, Services
from webstore.platform import quota
from webstore.platform.channels import BrowserChannel
from webstore.platform.locks import WebLock

__all__ = ["PLAIN_TYPED", "SERVICES", "PyodideServices"]

T = TypeVar("T")

PLAIN_TYPED: ContextVar[bool] = ContextVar("webstore_plain_typed", default=False)
"""Set (for one task) by the JS API while it reads values it hands to JS in one batch
(``jsvalues.batch_to_js``): typed arrays stored from JS then decode as ``TypedArray``, so no
JS object is made for each of them only to be taken apart again."""


def _runtime_name() -> str:
    info = getattr(sys, "_emscripten_info", None)
    where = str(getattr(info, "runtime", ""))
    if "Node.js" in where:
        return "pyodide-node"
    process = getattr(js, "process", None)
    versions = getattr(process, "versions", None) if process is not None else None
    if versions is not None and getattr(versions, "node", None):
        return "pyodide-node"
    return "pyodide-browser"


class PyodideServices(Services):
    """What a browser (or Node) gives Pyodide code."""

    def __init__(self) -> None:
        self.runtime = _runtime_name()
        self._channels: dict[str, Channel | None] = {}
        self._tasks: set[Any] = set()

    def lock(self, name: str) -> AbstractAsyncContextManager[Any]:
        """A Web Lock (no-op without ``navigator.locks``)."""
        return WebLock(name)

    def channel(self, topic: str, *, storage_events: bool = False) -> Channel | None:
        """One channel per topic in a browser page or worker; none under Node."""
        if self.runtime != "pyodide-browser":
            return None
        if topic not in self._channels:
            try:
                self._channels[topic] = BrowserChannel(topic, storage_events=storage_events)
            except Exception:  # neither BroadcastChannel nor a usable localStorage here
                self._channels[topic] = None
        return self._channels[topic]

    def schedule(self, awaitable: Awaitable[None]) -> None:
        """A task on Pyodide's loop, kept referenced until done."""
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)  # referenced until done, so it is not collected
        task.add_done_callback(self._tasks.discard)

    def js_typed(self, kind: str, data: memoryview) -> Any:
        """A JS typed array of ``kind`` over one fresh copy of ``data`` (or ``PLAIN_TYPED``)."""
        if PLAIN_TYPED.get():
            return None
        u8 = to_js(data)  # one copy into a fresh JS ArrayBuffer
        ctor = getattr(js, kind)
        return ctor.new(u8.buffer, u8.byteOffset, len(data) // ctor.BYTES_PER_ELEMENT)

    def run_sync(self, awaitable: Awaitable[T]) -> T:
        """``pyodide.ffi.run_sync`` (needs JS Promise Integration)."""
        result: T = run_sync(awaitable)
        return result

    def http(self) -> Any:
        """The ``fetch`` transport (imported when sync is first used)."""
        from webstore.platform.http import FetchTransport

        return FetchTransport()

    async def estimate(self) -> dict[str, int] | None:
        """``navigator.storage.estimate()``."""
        return await quota.estimate()

    async def persist(self) -> bool | None:
        """``navigator.storage.persist()``."""
        return await quota.persist()

    async def persisted(self) -> bool | None:
        """``navigator.storage.persisted()``."""
        return await quota.persisted()


SERVICES = PyodideServices()
