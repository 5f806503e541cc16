"""Watches on branches, fired after a ref move is durable, in this process and across tabs.

Every repo on the same storage shares one *store id*. A ref move is announced to the local
hub (all watchers in this process, awaited in order) and then published as JSON on the
runtime's :class:`~webstore._runtime.Channel` for other processes or tabs (in a browser a
``BroadcastChannel`` or localStorage ``storage`` events: ``webstore.platform.channels``);
receiving tabs compute the diff from the shared storage. Nothing polls. Only
:class:`~webstore.versioned.refs.RefStore` announces moves.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from json import dumps, loads
from typing import Any

from webstore._runtime import Channel, Inbox
from webstore.versioned.diff import Change
from webstore.versioned.ids import ObjectId, to_hex

__all__ = ["Channel", "Deliver", "RefEvent", "WatchCallback", "WatchHandle", "call_back", "hub"]

WatchCallback = Callable[[ObjectId | None, ObjectId | None, list[Change]], Any]
"""``callback(old_head, new_head, diff)``; may be a plain function or ``async def``."""
Deliver = Callable[[ObjectId | None, ObjectId | None], Awaitable[None]]
"""What a watch handle runs for each move: ``deliver(old, new)``."""


@dataclass(frozen=True)
class RefEvent:
    """A ref of the store ``store_id`` moved from ``old`` to ``new`` (hex, ``None``: absent)."""

    store_id: str
    ref: str
    old: str | None
    new: str | None

    def to_json(self) -> str:
        """Wire form for channels."""
        return dumps([self.store_id, self.ref, self.old, self.new])

    @classmethod
    def from_json(cls, text: str) -> RefEvent:
        """Parse the wire form; raise ``ValueError`` if it is not one."""
        data = loads(text)
        if not (isinstance(data, list) and len(data) == 4):
            raise ValueError("not a ref event")
        return cls(*data)


@dataclass(eq=False)
class WatchHandle:
    """Returned by ``watch``; pass to ``unwatch`` (or call :meth:`unwatch`).

    Exceptions raised by the callback do not undo the (already durable) commit; they are kept
    in ``errors`` and logged on the ``webstore.watch`` logger, so they are never silent.
    """

    store_id: str
    ref: str
    deliver: Deliver
    errors: list[BaseException] = field(default_factory=list)
    active: bool = True

    def unwatch(self) -> None:
        """Stop receiving events (idempotent)."""
        hub.remove(self)


_log = logging.getLogger("webstore.watch")


class _Hub:
    """In-process fan-out plus one remote channel per store id.

    Events from other tabs are delivered one at a time, in the order received, so a watcher
    sees moves in the order they happened.
    """

    def __init__(self) -> None:
        self._watchers: dict[str, list[WatchHandle]] = {}
        self._channels: dict[str, Channel | None] = {}
        self._inbox: Inbox[RefEvent] = Inbox(self._deliver)

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
                channel.subscribe(self._received_text)
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

    def _received_text(self, text: str) -> None:
        try:
            event = RefEvent.from_json(text)
        except ValueError:
            return
        if not self._watchers.get(event.store_id):
            return
        self._inbox.put(event)

    async def moved(self, store_id: str, ref: str, old: ObjectId | None,
                    new: ObjectId | None, channel: Channel | None) -> None:
        """A ref move is durable: notify local watchers, then other tabs/processes."""
        event = RefEvent(store_id, ref, None if old is None else to_hex(old),
                         None if new is None else to_hex(new))
        await self._deliver(event)
        remote = self.channel(store_id, channel)
        if remote is not None:
            remote.publish(event.to_json())


hub = _Hub()


async def call_back(callback: WatchCallback, old: ObjectId | None, new: ObjectId | None,
                    changes: list[Change]) -> None:
    """Invoke a sync or async callback."""
    result = callback(old, new, changes)
    if inspect.isawaitable(result):
        await result
