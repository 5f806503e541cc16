"""webstore: one async storage API for CPython, Pyodide in browsers and Pyodide under Node.

``store = await webstore.open("notes")`` picks the best backend this runtime has (SQLite on
CPython; IndexedDB, then localStorage, then memory in Pyodide) and records why.
"""

from __future__ import annotations

from webstore import errors
from webstore._open import open
from webstore._runtime import services
from webstore.backends import (
    Backend,
    Capabilities,
    Selection,
    open_backend,
    register_backend,
    registered_backends,
)
from webstore.errors import (
    AuthenticationFailed,
    IntegrityError,
    InvalidArgument,
    InvalidKey,
    KeyNotFound,
    StorageFull,
    StorageUnavailable,
    StoreClosed,
    UnsupportedValue,
    WebstoreError,
)
from webstore.kv import Store, TypedArray

__version__ = "0.1.0"


async def estimate() -> dict[str, int] | None:
    """``{"usage": bytes, "quota": bytes}`` of this origin's storage (``None``: no such API)."""
    return await services().estimate()


async def persist() -> bool | None:
    """Ask the browser not to evict this origin's data; whether it agreed (``None``: no API)."""
    return await services().persist()

__all__ = [
    "AuthenticationFailed",
    "Backend",
    "Capabilities",
    "IntegrityError",
    "InvalidArgument",
    "InvalidKey",
    "KeyNotFound",
    "Selection",
    "StorageFull",
    "StorageUnavailable",
    "Store",
    "StoreClosed",
    "TypedArray",
    "UnsupportedValue",
    "WebstoreError",
    "__version__",
    "errors",
    "estimate",
    "open",
    "open_backend",
    "persist",
    "register_backend",
    "registered_backends",
]
