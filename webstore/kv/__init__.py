"""The key-value layer: the :class:`Store` API, the value codec, typed arrays, change events."""

from __future__ import annotations

from webstore.kv.store import MAX_KEY_LENGTH, Store, fsck_store, namespace_prefix, validate_key
from webstore.kv.typed import KINDS, TypedArray
from webstore.kv.watch import KeyChange, KeyWatchHandle

__all__ = [
    "KINDS",
    "KeyChange",
    "KeyWatchHandle",
    "MAX_KEY_LENGTH",
    "Store",
    "TypedArray",
    "fsck_store",
    "namespace_prefix",
    "validate_key",
]
