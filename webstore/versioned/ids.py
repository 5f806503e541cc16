"""Object ids and object formats: SHA-256 (the default) or SHA-1 object names, per repo.

An :class:`ObjectFormat` is a value the containers carry (``ObjectStore``, ``RefStore``,
``parse_object``), never a global: one repo names all its objects with one format, as a Git
repository does (``git init --object-format=sha256`` or the SHA-1 default GitHub accepts).
The module-level :func:`hash_object`, :func:`parse_id` and :data:`ID_LENGTH` are SHA-256's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NewType

from webstore.errors import InvalidArgument

__all__ = [
    "FORMATS",
    "ID_LENGTH",
    "SHA1",
    "SHA256",
    "ObjectFormat",
    "ObjectId",
    "hash_object",
    "object_format",
    "parse_id",
    "to_hex",
]

ObjectId = NewType("ObjectId", bytes)
"""The raw hash (32 bytes SHA-256, 20 bytes SHA-1) of an object's Git serialisation."""


def to_hex(oid: ObjectId) -> str:
    """The lowercase hex name Git shows (64 digits SHA-256, 40 SHA-1)."""
    return oid.hex()


@dataclass(frozen=True)
class ObjectFormat:
    """How a repo names objects: Git's ``extensions.objectformat`` (``sha1`` / ``sha256``)."""

    name: str
    id_length: int
    """Bytes in a raw object id."""
    hash_function: Callable[[bytes], Any]
    """A :mod:`hashlib` constructor."""

    @property
    def hex_length(self) -> int:
        """Hex digits in an object name."""
        return 2 * self.id_length

    def hash_object(self, raw: bytes) -> ObjectId:
        r"""Id of a serialised object (``"<type> <len>\\0<body>"``)."""
        return ObjectId(self.hash_function(raw).digest())

    def to_hex(self, oid: ObjectId) -> str:
        """The hex name Git shows."""
        return oid.hex()

    def parse_id(self, value: object, argument: str = "commit") -> ObjectId:
        """Accept a raw id or its hex digits in this format; raise naming ``argument``."""
        if isinstance(value, bytes) and len(value) == self.id_length:
            return ObjectId(value)
        if isinstance(value, str) and len(value) == self.hex_length:
            try:
                return ObjectId(bytes.fromhex(value))
            except ValueError:
                pass
        raise InvalidArgument(
            f"{argument} must be a {self.name} object id ({self.id_length} bytes or "
            f"{self.hex_length} hex digits), not {value!r}", argument=argument,
        )

    def __repr__(self) -> str:
        return f"ObjectFormat({self.name!r})"


SHA256 = ObjectFormat("sha256", 32, hashlib.sha256)
SHA1 = ObjectFormat("sha1", 20, hashlib.sha1)
FORMATS: dict[str, ObjectFormat] = {"sha1": SHA1, "sha256": SHA256}
"""Every supported format by its Git name."""


def object_format(name: object, argument: str = "object_format") -> ObjectFormat:
    """The format called ``name`` (an :class:`ObjectFormat` passes through); else raise."""
    if type(name) is str and name in FORMATS:
        return FORMATS[name]
    if isinstance(name, ObjectFormat) and name in FORMATS.values():
        return name
    raise InvalidArgument(f"{argument} must be one of {', '.join(map(repr, FORMATS))}, not "
                          f"{name!r}", argument=argument)


#: A SHA-256 object name is 32 bytes (64 hex digits), as in ``--object-format=sha256``.
ID_LENGTH = SHA256.id_length

#: SHA-256 id of a serialised object (the default format's :meth:`ObjectFormat.hash_object`).
hash_object = SHA256.hash_object


def parse_id(value: object, argument: str = "commit") -> ObjectId:
    """Accept a SHA-256 ``ObjectId`` (32 bytes) or its 64 hex digits; raise naming ``argument``."""
    return SHA256.parse_id(value, argument)
