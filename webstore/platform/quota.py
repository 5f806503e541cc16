"""The browser's storage persistence APIs: ``navigator.storage.persist()`` / ``estimate()``.

Browsers may evict IndexedDB and localStorage data of "best-effort" origins under storage
pressure; ``persist()`` asks to be exempt. Each returns ``None`` where the API does not exist
(Node, older engines), so callers need no checks of their own.
"""

from __future__ import annotations

from typing import Any

import js
from pyodide.ffi import JsException

__all__ = ["estimate", "persist", "persisted"]


def _storage_manager() -> Any:
    try:
        navigator = getattr(js, "navigator", None)
        manager = getattr(navigator, "storage", None) if navigator is not None else None
    except JsException:
        return None
    return manager if manager is not None and hasattr(manager, "estimate") else None


async def persist() -> bool | None:
    """Ask the browser not to evict this origin's data; whether it agreed (``None``: no API)."""
    manager = _storage_manager()
    if manager is None or not hasattr(manager, "persist"):
        return None
    return bool(await manager.persist())


async def persisted() -> bool | None:
    """Whether this origin's data is already exempt from eviction (``None``: no API)."""
    manager = _storage_manager()
    if manager is None or not hasattr(manager, "persisted"):
        return None
    return bool(await manager.persisted())


async def estimate() -> dict[str, int] | None:
    """``{"usage": bytes, "quota": bytes}`` for this origin (``None``: no API)."""
    manager = _storage_manager()
    if manager is None:
        return None
    found = await manager.estimate()
    return {"usage": int(found.usage or 0), "quota": int(found.quota or 0)}
