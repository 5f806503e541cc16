"""Watches on branches, fired after a ref move is durable, in this process and across tabs.

Every repo on the same storage shares one *store id*. A ref move is announced to the local
hub (all watchers in this process, awaited in order) and then published on a pluggable
:class:`Channel` for other processes or tabs. In Pyodide in a browser the default channel is
a ``BroadcastChannel`` (falling back to ``storage`` events of localStorage); receiving tabs
compute the diff from the shared storage. Nothing polls.
"""

from __future__ import annotations

import inspect
import json
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
    in ``errors``.
    """

    store_id: str
    ref: str
    deliver: Callable[[ObjectId | None, ObjectId | None], Awaitable[None]]
    errors: list[BaseException] = field(default_factory=list)
    active: bool = True

    def unwatch(self) -> None:
        """Stop receiving events (idempotent)."""
        hub.remove(self)


def _schedule(awaitable: Awaitable[None]) -> None:
    """Run a coroutine from a JS event handler: a Pyodide awaitable proxy is a thenable."""
    import js

    js.Promise.resolve(awaitable)


class _Hub:
    """In-process fan-out plus one remote channel per store id."""

    def __init__(self) -> None:
        self._watchers: dict[str, list[WatchHandle]] = {}
        self._channels: dict[str, Channel | None] = {}

    def add(self, handle: WatchHandle, channel: Channel | None) -> None:
        self._watchers.setdefault(handle.store_id, []).append(handle)
        if handle.store_id not in self._channels:
            self._channels[handle.store_id] = channel
            if channel is not None:
                channel.subscribe(self._received)

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

    def _received(self, event: RefEvent) -> None:
        _schedule(self._deliver(event))

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
    """``BroadcastChannel`` between same-origin tabs; ``storage`` events as the fallback."""

    def __init__(self, store_id: str) -> None:
        import js
        from pyodide.ffi import create_proxy

        self._name = "webstore-watch:" + store_id
        self._listeners: list[Callable[[RefEvent], None]] = []
        self._bc = None
        self._proxy = create_proxy(self._on_message)
        if getattr(js, "BroadcastChannel", None) is not None:
            self._bc = js.BroadcastChannel.new(self._name)
            self._bc.addEventListener("message", self._proxy)
        else:
            js.addEventListener("storage", self._proxy)

    def _on_message(self, message: Any) -> None:
        key = getattr(message, "key", None)
        if self._bc is None and key != self._name:
            return
        text = message.data if self._bc is not None else message.newValue
        try:
            event = RefEvent.from_json(str(text))
        except ValueError:
            return
        for listener in self._listeners:
            listener(event)

    def publish(self, event: RefEvent) -> None:  # noqa: D102
        # docstring inherited
        if self._bc is not None:
            self._bc.postMessage(event.to_json())
        else:
            import js

            js.localStorage.setItem(self._name, event.to_json())

    def subscribe(self, listener: Callable[[RefEvent], None]) -> None:  # noqa: D102
        # docstring inherited
        self._listeners.append(listener)


def default_channel(store_id: str) -> Channel | None:
    """A :class:`BrowserChannel` in a Pyodide browser, else ``None`` (in-process only).

    Not under Node: an open ``BroadcastChannel`` would keep the Node process alive.
    """
    if runtime() != "pyodide-browser":
        return None
    import js

    if getattr(js, "BroadcastChannel", None) is None and getattr(js, "localStorage", None) is None:
        return None
    try:
        return BrowserChannel(store_id)
    except Exception:  # no usable channel here (e.g. Node without BroadcastChannel)
        return None
