"""Running async checks in any runtime: natively awaited, or driven synchronously.

Checks are plain ``async def check_x(factory)`` functions. In Pyodide (browsers, Node) they
are awaited from a coroutine the JavaScript side drives, so they work on engines without JS
Promise Integration. On CPython, pytest calls them through :func:`drive` (from
:mod:`webstore._runtime`), which steps the coroutine by hand (memory and SQLite never suspend)
and falls back to an event loop only if a backend really suspends.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from webstore._runtime import drive
from webstore.kv.store import Store

__all__ = ["Check", "StoreFactory", "drive", "run_checks"]

StoreFactory = Callable[[str], Awaitable[Store]]
Check = Callable[[StoreFactory], Awaitable[None]]


async def run_checks(
    factory: StoreFactory, checks: Mapping[str, Check] | None = None,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Await every check against ``factory``; one result dict per check, never raises.

    Each result is ``{"name", "ok", "error", "seconds"}``; ``error`` holds the traceback.
    """
    if checks is None:
        from webstore.testing import all_checks

        checks = all_checks()
    results: list[dict[str, Any]] = []
    for name, check in checks.items():
        if only is not None and name not in only:
            continue
        start = time.perf_counter()
        error = None
        try:
            await check(factory)
        except Exception:
            error = traceback.format_exc()
        results.append({
            "name": name, "ok": error is None, "error": error,
            "seconds": round(time.perf_counter() - start, 4),
        })
    return results
