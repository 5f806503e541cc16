"""Watches on branches, fired after a ref move is durable, in this process and across tabs.

Every repo on the same storage shares one *store id*. A ref move is announced to the local
hub (all watchers in this process, awaited in order) and then published on a pluggable
:class:`Channel` for other processes or tabs. In Pyodide in a browser the default channel is
a ``BroadcastChannel`` (``storage`` events of localStorage for stores kept there, or when
there is no ``BroadcastChannel``); receiving tabs compute the diff from the shared storage.
Nothing polls.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from webstore._runtime import runtime
from webstore.versioned.diff import Change
from webstore.versioned.ids import ObjectId, to_hex

__all__ = [
    "BrowserChannel",
    "Channel",
    "RefEvent",
    "WatchCallback",
    "WatchHandle",
    "default_channel",
    "hub",
]

WatchCallback = Callable[[ObjectId | None, ObjectId | None, list[Change]], Any]
"""``callback(old_head, new_head, diff)``; may be a plain function or ``async def``."""


@dataclass(frozen=True)
class RefEvent:
    """A ref of the store ``store_id`` moved from ``old`` to ``new`` (hex, ``None``: absent)."""

    store_id: str
    ref: str
    old: str | None
    new: str | None

    def to_json(self) -> str:
        """Wire form for channels."""
        return json.dumps([self.store_id, self.ref, self.old, self.new])

    @classmethod
    def from_json(cls, text: str) -> RefEvent:
        """Parse the wire form; raise ``ValueError`` if it is not one."""
        data = json.loads(text)
        if not (isinstance(data, list) and len(data) == 4):
            raise ValueError("not a ref event")
        return cls(*data)


@runtime_checkable
class Channel(Protocol):
    """Carries ref events to *other* processes or tabs (never back to the sender)."""

    def publish(self, event: RefEvent) -> None:
        """Announce a durable ref move."""

    def subscribe(self, listener: Callable[[RefEvent], None]) -> None:
        """Call ``listener`` for every event received from elsewhere."""


@dataclass(eq=False)
class WatchHandle:
    """Returned by ``watch``; pass to ``unwatch`` (or call :meth:`unwatch`).

    Exceptions raised by the callback do not undo the (already durable) commit; they are kept
    in ``errors`` and logged on the ``webstore.watch`` logger, so they are never silent.
    """

    store_id: str
    ref: str
    deliver: Callable[[ObjectId | None, ObjectId | None], Awaitable[None]]
    errors: list[BaseException] = field(default_factory=list)
    active: bool = True

    def unwatch(self) -> None:
        """Stop receiving events (idempotent)."""
        hub.remove(self)


_log = logging.getLogger("webstore.watch")
_tasks: set[Any] = set()


def _schedule(awaitable: Awaitable[None]) -> None:
    """Run a coroutine from a JS event handler (Pyodide only).

    Pyodide's asyncio loop *is* the browser's event loop (``pyodide.webloop``), so this needs
    no runner of its own; the task is referenced until done so it is not collected.
    """
    import asyncio

    task = asyncio.ensure_future(awaitable)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


class _Hub:
    """In-process fan-out plus one remote channel per store id.

    Events from other tabs are delivered one at a time, in the order received, so a watcher
    sees moves in the order they happened.
    """

    def __init__(self) -> None:
        self._watchers: dict[str, list[WatchHandle]] = {}
        self._channels: dict[str, Channel | None] = {}
        self._queue: list[RefEvent] = []
        self._draining = False

    def add(self, handle: WatchHandle, channel: Channel | None) -> None:
        self._watchers.setdefault(handle.store_id, []).append(handle)
        self.channel(handle.store_id, channel)

    def remove(self, handle: WatchHandle) -> None:
        handle.active = False
        watchers = self._watchers.get(handle.store_id, [])
        if handle in watchers:
            watchers.remove(handle)

    def channel(self, store_id: str, channel: Channel | None) -> Channel | None:
        """The channel used for ``store_id`` (registered on first use)."""
        if store_id not in self._channels:
            self._channels[store_id] = channel
            if channel is not None:
                channel.subscribe(self._received)
        return self._channels[store_id]

    async def _deliver(self, event: RefEvent) -> None:
        old = None if event.old is None else ObjectId(bytes.fromhex(event.old))
        new = None if event.new is None else ObjectId(bytes.fromhex(event.new))
        for handle in list(self._watchers.get(event.store_id, [])):
            if handle.ref == event.ref and handle.active:
                try:
                    await handle.deliver(old, new)
                except Exception as exc:  # the commit is durable; keep the error on the handle
                    handle.errors.append(exc)
                    _log.exception("watch callback on %s raised (the commit stands)", event.ref)

    def _received(self, event: RefEvent) -> None:
        if not self._watchers.get(event.store_id):
            return
        self._queue.append(event)
        if not self._draining:
            self._draining = True
            _schedule(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._deliver(self._queue.pop(0))
        finally:
            self._draining = False

    async def moved(self, store_id: str, ref: str, old: ObjectId | None,
                    new: ObjectId | None, channel: Channel | None) -> None:
        """A ref move is durable: notify local watchers, then other tabs/processes."""
        event = RefEvent(store_id, ref, None if old is None else to_hex(old),
                         None if new is None else to_hex(new))
        await self._deliver(event)
        remote = self.channel(store_id, channel)
        if remote is not None:
            remote.publish(event)


hub = _Hub()


async def call_back(callback: WatchCallback, old: ObjectId | None, new: ObjectId | None,
                    changes: list[Change]) -> None:
    """Invoke a sync or async callback."""
    result = callback(old, new, changes)
    if inspect.isawaitable(result):
        await result


class BrowserChannel:
    """``BroadcastChannel`` between same-origin tabs, or localStorage ``storage`` events.

    The storage kind writes each event, with a nonce so equal events still differ, to one
    localStorage key per store; browsers fire ``storage`` in every *other* tab of the origin.
    It is used where there is no ``BroadcastChannel`` and for stores kept in localStorage
    (``storage_events``): other tabs see localStorage writes late but in order, so a notice
    written after the data cannot arrive before it, while a ``BroadcastChannel`` message can
    (Chromium delivered one before the commit's objects were readable in the other tab).
    ``kind`` says which one is in use (``"broadcast"`` or ``"storage"``).
    """

    def __init__(self, store_id: str, *, storage_events: bool = False) -> None:
        import js
        from pyodide.ffi import create_proxy

        self.name = "webstore-watch:" + store_id
        self._listeners: list[Callable[[RefEvent], None]] = []
        self._bc: Any = None
        self._sent = 0
        self._proxy = create_proxy(self._on_message)
        if not storage_events and getattr(js, "BroadcastChannel", None) is not None:
            self.kind = "broadcast"
            self._bc = js.BroadcastChannel.new(self.name)
            self._bc.addEventListener("message", self._proxy)
        else:
            self.kind = "storage"
            js.localStorage.getItem(self.name)  # raises here if storage is unusable
            js.addEventListener("storage", self._proxy)

    def _on_message(self, message: Any) -> None:
        if self._bc is None:
            if getattr(message, "key", None) != self.name or message.newValue is None:
                return
            text = str(message.newValue)
            text = text[text.find(" ") + 1:]  # drop the nonce
        else:
            text = str(message.data)
        try:
            event = RefEvent.from_json(text)
        except ValueError:
            return
        for listener in self._listeners:
            listener(event)

    def publish(self, event: RefEvent) -> None:  # noqa: D102
        # docstring inherited
        if self._bc is not None:
            self._bc.postMessage(event.to_json())
            return
        import js

        self._sent += 1
        nonce = f"{js.Date.now()}.{js.Math.random()}.{self._sent}"
        # Full or disabled storage: other tabs miss this event; the data itself is safe.
        with contextlib.suppress(Exception):
            js.localStorage.setItem(self.name, f"{nonce} {event.to_json()}")

    def subscribe(self, listener: Callable[[RefEvent], None]) -> None:  # noqa: D102
        # docstring inherited
        self._listeners.append(listener)


_browser_channels: dict[str, Channel | None] = {}


def default_channel(store_id: str, *, storage_events: bool = False) -> Channel | None:
    """One :class:`BrowserChannel` per store id in a Pyodide browser, else ``None``.

    ``storage_events``: the store lives in localStorage; see :class:`BrowserChannel`.

    Not under Node: an open ``BroadcastChannel`` would keep the Node process alive.
    """
    if runtime() != "pyodide-browser":
        return None
    if store_id not in _browser_channels:
        try:
            _browser_channels[store_id] = BrowserChannel(store_id, storage_events=storage_events)
        except Exception:  # neither BroadcastChannel nor a usable localStorage here
            _browser_channels[store_id] = None
    return _browser_channels[store_id]
