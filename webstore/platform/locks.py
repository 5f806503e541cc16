"""``async with WebLock(name)``: the Web Lock ``name`` held across several awaits.

Tabs and workers of one origin queue for it first come, first served, so a writer cannot
starve another by winning every compare-and-set race. The JS half is ``acquire`` in
``shared.js`` (the same lock the localStorage backend takes). A no-op where
``navigator.locks`` is missing (Node); the browser releases it if the page dies.
"""

from __future__ import annotations

from typing import Any

from webstore.platform.bridge import shared

__all__ = ["WebLock"]


class WebLock:
    """Hold the exclusive Web Lock ``name`` for an ``async with`` block."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._release: Any = None

    async def __aenter__(self) -> WebLock:
        js_shared = shared()
        if js_shared.hasLocks():
            self._release = await js_shared.acquire(self.name)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._release is not None:
            self._release()
            self._release = None
