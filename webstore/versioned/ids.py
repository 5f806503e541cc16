"""Object ids: SHA-256 object names, as raw 32 bytes, shown as 64 hex digits."""

from __future__ import annotations

import hashlib
from typing import NewType

from webstore.errors import InvalidArgument

__all__ = ["ID_LENGTH", "ObjectId", "hash_object", "parse_id", "to_hex"]

#: A SHA-256 object name is 32 bytes (64 hex digits), as in ``--object-format=sha256``.
ID_LENGTH = 32

ObjectId = NewType("ObjectId", bytes)
"""The raw 32-byte SHA-256 of an object's Git serialisation (header included)."""


def hash_object(raw: bytes) -> ObjectId:
    r"""Id of a serialised object (``"<type> <len>\\0<body>"``)."""
    return ObjectId(hashlib.sha256(raw).digest())


def to_hex(oid: ObjectId) -> str:
    """The 64-digit lowercase hex name Git shows."""
    return oid.hex()


def parse_id(value: object, argument: str = "commit") -> ObjectId:
    """Accept an ``ObjectId`` (32 bytes) or its 64 hex digits; raise naming ``argument``."""
    if isinstance(value, bytes) and len(value) == ID_LENGTH:
        return ObjectId(value)
    if isinstance(value, str) and len(value) == 2 * ID_LENGTH:
        try:
            return ObjectId(bytes.fromhex(value))
        except ValueError:
            pass
    raise InvalidArgument(
        f"{argument} must be an object id (32 bytes or 64 hex digits), not {value!r}",
        argument=argument,
    )
