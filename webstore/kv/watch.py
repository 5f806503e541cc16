"""Change events on key-value stores: which keys a durable write set or deleted.

A :class:`~webstore.kv.store.Store` announces every write once its backend call returned, one
event per atomic batch: first on the runtime's :class:`~webstore._runtime.Channel` for other
tabs and workers (in a browser a ``BroadcastChannel``, or localStorage ``storage`` events for
stores kept in localStorage: ``webstore.platform.channels``), then to the watchers of that
store in this context, awaited in order. Events name keys and kinds, never values: a value may
be megabytes, and a reader that needs it reads the durable value, which may already be newer
than the announced write. Nothing polls: other processes on one SQLite file are not told.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from json import dumps, loads
from typing import Any, NamedTuple

from webstore._runtime import Channel, Inbox

__all__ = ["DELETE", "SET", "KeyChange", "KeyWatchCallback", "KeyWatchHandle", "hub"]

SET = "set"
DELETE = "delete"


class KeyChange(NamedTuple):
    """One key an atomic write set or deleted; a pair, so ``for key, kind in changes`` works."""

    key: str
    kind: str
    """``"set"`` or ``"delete"`` (a delete is reported for every key named, present or not)."""


KeyWatchCallback = Callable[[list[KeyChange]], Any]
"""``callback(changes)``; may be a plain function or ``async def``."""


@dataclass(eq=False)
class KeyWatchHandle:
    """Returned by ``Store.watch``; pass to ``Store.unwatch`` (or call :meth:`unwatch`).

    Exceptions raised by the callback do not undo the (already durable) write; they are kept
    in ``errors`` and logged on the ``webstore.watch`` logger, so they are never silent.
    """

    store_id: str
    prefix: str
    callback: KeyWatchCallback
    errors: list[BaseException] = field(default_factory=list)
    active: bool = True

    def unwatch(self) -> None:
        """Stop receiving events (idempotent)."""
        hub.remove(self)


_log = logging.getLogger("webstore.watch")


def _parse(text: str) -> tuple[str, list[KeyChange]] | None:
    """The wire form ``[store_id, [[key, kind], ...]]``; ``None`` for anything else."""
    try:
        data = loads(text)
    except ValueError:
        return None
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], str)
            and isinstance(data[1], list)):
        return None
    changes = []
    for item in data[1]:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                and item[1] in (SET, DELETE)):
            return None
        changes.append(KeyChange(item[0], item[1]))
    return data[0], changes


class _Hub:
    """Watchers per store id in this context, plus one subscription per store id's channel.

    ``watched`` holds only store ids with at least one watcher, so a store tests one dict
    membership per write. Events from other tabs are delivered one at a time, in the order
    received.
    """

    def __init__(self) -> None:
        self.watched: dict[str, list[KeyWatchHandle]] = {}
        self._subscribed: set[str] = set()
        self._inbox: Inbox[tuple[str, list[KeyChange]]] = Inbox(self._deliver_event)

    def add(self, handle: KeyWatchHandle, channel: Channel | None) -> None:
        self.watched.setdefault(handle.store_id, []).append(handle)
        if channel is not None and handle.store_id not in self._subscribed:
            self._subscribed.add(handle.store_id)
            channel.subscribe(self._received_text)

    def remove(self, handle: KeyWatchHandle) -> None:
        handle.active = False
        watchers = self.watched.get(handle.store_id)
        if watchers is not None and handle in watchers:
            watchers.remove(handle)
            if not watchers:
                del self.watched[handle.store_id]

    async def deliver(self, store_id: str, changes: list[KeyChange]) -> None:
        """Call every active watcher of ``store_id`` with the changes under its prefix."""
        for handle in list(self.watched.get(store_id, ())):
            if not handle.active:
                continue
            prefix = handle.prefix
            mine = [c for c in changes if c.key.startswith(prefix)] if prefix else list(changes)
            if not mine:
                continue
            try:
                result = handle.callback(mine)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # the write is durable; keep the error on the handle
                handle.errors.append(exc)
                _log.exception("change callback on %s raised (the write stands)", store_id)

    async def changed(self, store_id: str, changes: list[KeyChange],
                      channel: Channel | None) -> None:
        """A write is durable: tell other contexts, then the watchers here.

        Publishing first keeps the order of writes a local callback makes in reaction.
        """
        if channel is not None:
            channel.publish(dumps([store_id, changes]))
        if store_id in self.watched:
            await self.deliver(store_id, changes)

    def _received_text(self, text: str) -> None:
        event = _parse(text)
        if event is None or event[0] not in self.watched:
            return
        self._inbox.put(event)

    async def _deliver_event(self, event: tuple[str, list[KeyChange]]) -> None:
        await self.deliver(*event)


hub = _Hub()
