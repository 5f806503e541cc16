"""Messages to the other tabs and workers of an origin: ``BroadcastChannel`` or ``storage`` events.

The storage kind writes each message, with a nonce so equal messages still differ, to one
localStorage key per topic; browsers fire ``storage`` in every *other* tab of the origin.
It is used where there is no ``BroadcastChannel`` and for stores kept in localStorage
(``storage_events``): other tabs see localStorage writes late but in order, so a notice
written after the data cannot arrive before it, while a ``BroadcastChannel`` message can
(Chromium delivered one before a commit's objects were readable in the other tab).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import create_proxy

__all__ = ["BrowserChannel"]


class BrowserChannel:
    """One topic between same-origin contexts; ``kind`` is ``"broadcast"`` or ``"storage"``."""

    def __init__(self, topic: str, *, storage_events: bool = False) -> None:
        self.name = "webstore-watch:" + topic
        self._listeners: list[Callable[[str], None]] = []
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
        for listener in self._listeners:
            listener(text)

    def publish(self, message: str) -> None:  # noqa: D102
        # docstring inherited
        if self._bc is not None:
            self._bc.postMessage(message)
            return
        self._sent += 1
        nonce = f"{js.Date.now()}.{js.Math.random()}.{self._sent}"
        # Full or disabled storage: other tabs miss this message; the data itself is safe.
        with contextlib.suppress(Exception):
            js.localStorage.setItem(self.name, f"{nonce} {message}")

    def subscribe(self, listener: Callable[[str], None]) -> None:  # noqa: D102
        # docstring inherited
        self._listeners.append(listener)
