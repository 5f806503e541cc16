"""Branches and tags: names -> commit ids, moved only by compare-and-set (Irmin's atomic-write).

Ref names are ``heads/<branch>`` and ``tags/<tag>``. Every change goes through the backend's
atomic ``set_if_equals`` with ``None`` meaning absent (dulwich's ``set_if_equals``); a plain
set is a compare-and-set loop on top of it.
"""

from __future__ import annotations

import re

from webstore.backends import Backend
from webstore.errors import IntegrityError, InvalidArgument
from webstore.versioned.ids import ObjectId, to_hex

__all__ = ["RefStore", "check_ref_name"]

_BAD_REF = re.compile(r"(^|/)\.|\.\.|[\x00-\x20\x7f~^:?*\[\\]|@\{|\.lock($|/)|//|/$|\.$|^@$")


def check_ref_name(name: object, argument: str = "name") -> str:
    """Return ``name`` if Git accepts it as a branch or tag name, else raise InvalidArgument."""
    if type(name) is not str or not name or len(name) > 200 or _BAD_REF.search(name) \
            or name.startswith(("/", "-")):
        raise InvalidArgument(
            f"{argument} must be a valid Git ref name (no spaces, '..', '~^:?*[\\', "
            f"leading '.' or '-', trailing '/' or '.lock'), not {name!r}", argument=argument,
        )
    return name


def _encode(oid: ObjectId | None) -> bytes | None:
    return None if oid is None else to_hex(oid).encode()


class RefStore:
    """Refs under ``prefix`` on ``backend``; values are 64 ASCII hex digits."""

    def __init__(self, backend: Backend, prefix: str) -> None:
        self.backend = backend
        self.prefix = prefix

    def key(self, ref: str) -> str:
        """Backend key of a ref."""
        return self.prefix + ref

    def _decode(self, ref: str, raw: bytes | None) -> ObjectId | None:
        if raw is None:
            return None
        try:
            oid = bytes.fromhex(bytes(raw).decode())
        except (ValueError, UnicodeDecodeError):
            oid = b""
        if len(oid) != 32:
            raise IntegrityError(f"ref {ref!r} holds garbage: {bytes(raw)[:80]!r}", key=ref)
        return ObjectId(oid)

    async def get(self, ref: str) -> ObjectId | None:
        """Commit a ref points at, ``None`` when absent."""
        return self._decode(ref, await self.backend.get(self.key(ref)))

    async def set_if_equals(self, ref: str, expected: ObjectId | None,
                            new: ObjectId | None) -> bool:
        """Atomically move ``ref`` from ``expected`` to ``new`` (``None``: absent / delete)."""
        return await self.backend.set_if_equals(self.key(ref), _encode(expected), _encode(new))

    async def set(self, ref: str, new: ObjectId | None) -> ObjectId | None:
        """Unconditionally point ``ref`` at ``new``; returns the previous value."""
        while True:
            old = await self.get(ref)
            if await self.set_if_equals(ref, old, new):
                return old

    async def list(self, prefix: str = "") -> dict[str, ObjectId]:
        """Every ref starting with ``prefix``, name -> id, sorted by name."""
        cut = len(self.prefix)
        items = await self.backend.items(self.prefix + prefix)
        out: dict[str, ObjectId] = {}
        for key, raw in items:
            oid = self._decode(key[cut:], raw)
            assert oid is not None
            out[key[cut:]] = oid
        return out
