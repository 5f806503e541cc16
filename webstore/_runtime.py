"""Which runtime we are in, and what the runtime provides to the layers above it.

``kv``, ``versioned`` and ``backends`` never import ``js`` or ``pyodide``. What they need from
the runtime — a lock shared with other tabs and workers, a channel to them, scheduling a
coroutine from an event handler, building a JS typed array — comes from :func:`services`.
CPython and every non-Pyodide runtime get the in-process defaults of :class:`Services`; in
Pyodide the platform package ``webstore.platform`` supplies the browser's, loaded by name on
first use (as backends are), so importing webstore on CPython never imports it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cache
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

__all__ = ["Channel", "Inbox", "Services", "drive", "in_pyodide", "runtime", "services"]

T = TypeVar("T")

#: Where Pyodide's services live (a ``module:attribute`` path, imported lazily).
PLATFORM = "webstore.platform.services:SERVICES"


def in_pyodide() -> bool:
    """Whether this is Pyodide (CPython compiled to WebAssembly by Emscripten)."""
    return sys.platform == "emscripten"


@runtime_checkable
class Channel(Protocol):
    """Carries text messages to *other* tabs, workers or processes (never back to the sender)."""

    def publish(self, message: str) -> None:
        """Send ``message`` to every other subscriber of this channel."""

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` for every message received from elsewhere."""


@asynccontextmanager
async def _no_lock() -> AsyncIterator[None]:
    yield


class Services:
    """The in-process defaults: nothing is shared with other contexts, so nothing to do."""

    runtime = "cpython"
    """``"cpython"``, ``"pyodide-browser"`` or ``"pyodide-node"``."""

    def lock(self, name: str) -> AbstractAsyncContextManager[None]:
        """Hold the cross-context lock ``name`` for an ``async with`` block (here: no-op)."""
        return _no_lock()

    def channel(self, topic: str, *, storage_events: bool = False) -> Channel | None:
        """A channel to other contexts for ``topic``, ``None`` when there are none."""
        return None

    def schedule(self, awaitable: Awaitable[None]) -> None:
        """Run ``awaitable`` soon, from a callback (only channels call it; none here)."""
        raise RuntimeError("no event loop to schedule on in this runtime")

    def js_typed(self, kind: str, data: memoryview) -> Any:
        """A JS typed array of ``kind`` holding ``data``, ``None`` outside JavaScript."""
        return None

    def run_sync(self, awaitable: Awaitable[T]) -> T:
        """Block until ``awaitable`` is done (test drivers; CPython uses asyncio)."""
        import asyncio  # only test drivers reach this; the layers never block

        async def wait() -> T:
            return await awaitable

        return asyncio.run(wait())

    def http(self) -> Any:
        """An HTTP transport for :mod:`webstore.remote`, ``None`` to use its CPython default."""
        return None

    async def estimate(self) -> dict[str, int] | None:
        """``{"usage", "quota"}`` of this origin's storage, ``None`` without such an API."""
        return None

    async def persist(self) -> bool | None:
        """Ask not to be evicted; whether granted (``None``: no such API)."""
        return None

    async def persisted(self) -> bool | None:
        """Whether this origin is already exempt from eviction (``None``: no such API)."""
        return None


@cache
def services() -> Services:
    """The services of this runtime (the platform package's in Pyodide)."""
    if not in_pyodide():
        return Services()
    module, _, attr = PLATFORM.partition(":")
    found: Services = getattr(importlib.import_module(module), attr)
    return found


def runtime() -> str:
    """``"cpython"``, ``"pyodide-browser"`` or ``"pyodide-node"``."""
    return services().runtime


class Inbox(Generic[T]):
    """Messages from a channel, handled one at a time in the order they arrived.

    Channel listeners are plain callbacks; ``put`` queues a message and, when nothing is
    being handled, schedules ``handler`` on the runtime's loop, so a watcher sees events from
    other contexts in order and never two at once.
    """

    def __init__(self, handler: Callable[[T], Awaitable[None]]) -> None:
        self._handler = handler
        self._queue: list[T] = []
        self._draining = False

    def put(self, message: T) -> None:
        """Queue ``message`` for the handler."""
        self._queue.append(message)
        if not self._draining:
            self._draining = True
            services().schedule(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._handler(self._queue.pop(0))
        finally:
            self._draining = False


def drive(awaitable: Awaitable[T]) -> T:
    """Run a coroutine (or any awaitable) to completion from synchronous code.

    Memory and SQLite never suspend, so their coroutines are stepped by hand without any event
    loop (the CLI and the CPython tests); one that does suspend is handed to
    :meth:`Services.run_sync` (asyncio on CPython, ``run_sync`` with JSPI in Pyodide).
    """
    coro = awaitable if isinstance(awaitable, Coroutine) else _await(awaitable)
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    return services().run_sync(_resume(coro, yielded))


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _resume(coro: Coroutine[Any, Any, T], first: Any) -> T:
    value = await _Yield(first)
    while True:
        try:
            value = await _Yield(coro.send(value))
        except StopIteration as stop:
            result: T = stop.value
            return result


class _Yield:
    """Awaitable that re-yields one value a stepped coroutine handed up to its driver."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return (yield self.value)
