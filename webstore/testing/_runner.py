"""Running async checks in any runtime: natively awaited, or driven synchronously.

Checks are plain ``async def check_x(factory)`` functions. In Pyodide (browsers, Node) they
are awaited from a coroutine the JavaScript side drives, so they work on engines without JS
Promise Integration. On CPython, pytest calls them through :func:`drive` (from
:mod:`webstore._runtime`), which steps the coroutine by hand (memory and SQLite never suspend)
and falls back to an event loop only if a backend really suspends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from webstore._runtime import drive
from webstore.kv.store import Store

__all__ = ["Check", "StoreFactory", "drive"]

StoreFactory = Callable[[str], Awaitable[Store]]
Check = Callable[[StoreFactory], Awaitable[None]]
