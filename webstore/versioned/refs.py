"""Branches and tags: names -> commit ids, and the one owner of every ref move.

Irmin's atomic-write store in dulwich's shape: :meth:`RefStore.set_if_equals` is the only way
a ref moves. It takes the ref's cross-context lock where other tabs or processes share the
backend, moves the ref by the backend's atomic compare-and-set (``None`` meaning absent), and
once the move is durable announces it to watchers in this context and, through the runtime's
channel, in the others. Nobody else announces moves. :meth:`RefStore.update` holds the lock
across several steps (build a commit, then move) so a fast writer in another tab cannot win
every race; its moves are announced when the block ends, outside the lock, because a watcher
may itself write.

Ref names are ``heads/<branch>`` and ``tags/<tag>``; values are ASCII hex object names in the
repo's object format (64 digits SHA-256, 40 SHA-1).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from webstore._runtime import Channel, services
from webstore.backends import Backend
from webstore.errors import IntegrityError, InvalidArgument
from webstore.versioned.formats import FormatBound, StoredFormat
from webstore.versioned.ids import SHA256, ObjectFormat, ObjectId, to_hex
from webstore.versioned.watch import Deliver, WatchHandle, hub

__all__ = ["RefStore", "RefUpdate", "check_ref_name"]

_BAD_REF = re.compile(r"(^|/)\.|\.\.|[\x00-\x20\x7f~^:?*\[\\]|@\{|\.lock($|/)|//|/$|\.$|^@$")
_DEFAULT: Any = object()


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


class RefUpdate:
    """Moves of one ref while :meth:`RefStore.update` holds its lock."""

    def __init__(self, refs: RefStore, ref: str) -> None:
        self._refs = refs
        self.ref = ref
        self.moves: list[tuple[ObjectId | None, ObjectId | None]] = []

    async def set_if_equals(self, expected: ObjectId | None, new: ObjectId | None) -> bool:
        """Compare-and-set the ref; announced when the ``update`` block ends."""
        refs = self._refs
        if refs._stored is not None:
            await refs._settle()
        for oid, what in ((expected, "expected"), (new, "new")):
            if oid is not None and len(oid) != refs._fmt.id_length:
                raise InvalidArgument(f"{what} must be a {refs._fmt.name} object id, not "
                                      f"{oid!r}", argument=what)
        done = await self._refs._backend.set_if_equals(
            self._refs._prefix + self.ref, _encode(expected), _encode(new))
        if done and expected != new:
            self.moves.append((expected, new))
        return done


class RefStore(FormatBound):
    """Refs under ``prefix`` on ``backend``; every move goes through :meth:`set_if_equals`.

    ``channel`` carries moves to other contexts; by default the runtime's channel when the
    backend is shared (other tabs), else none. ``store_id`` names the storage: every repo on
    the same storage, in any tab, uses the same id. ``object_format`` says how long a ref's
    value is: an :class:`ObjectFormat` (or its name), or a repo's :class:`StoredFormat`, read
    before the first read or move.
    """

    def __init__(self, backend: Backend, prefix: str, *, store_id: str | None = None,
                 channel: Channel | None = _DEFAULT,
                 object_format: ObjectFormat | StoredFormat | str = SHA256) -> None:
        self._backend = backend
        self._prefix = prefix
        super().__init__(object_format)
        where = getattr(backend, "location", None) or getattr(backend, "path", None) \
            or id(backend)
        self.store_id = store_id or f"{backend.name}:{where}:{prefix}"
        caps = backend.capabilities
        self.shared = caps.shared
        """Other tabs or processes may move these refs (moves take a cross-context lock)."""
        if channel is _DEFAULT:
            channel = services().channel(self.store_id, storage_events=caps.storage_events) \
                if caps.shared else None
        self.channel: Channel | None = channel

    def _decode(self, ref: str, raw: bytes | None) -> ObjectId | None:
        if raw is None:
            return None
        try:
            oid = bytes.fromhex(bytes(raw).decode())
        except (ValueError, UnicodeDecodeError):
            oid = b""
        if len(oid) != self._fmt.id_length:
            raise IntegrityError(f"ref {ref!r} holds garbage (not a {self._fmt.name} object "
                                 f"name): {bytes(raw)[:80]!r}", key=ref)
        return ObjectId(oid)

    # -- reading ----------------------------------------------------------------------------

    async def get(self, ref: str) -> ObjectId | None:
        """Commit a ref points at, ``None`` when absent."""
        if self._stored is not None:
            await self._settle()
        return self._decode(ref, await self._backend.get(self._prefix + ref))

    async def list(self, prefix: str = "") -> dict[str, ObjectId]:
        """Every ref starting with ``prefix``, name -> id, sorted by name."""
        good, bad = await self.scan(prefix)
        if bad:
            name, why = next(iter(bad.items()))
            raise IntegrityError(why, key=name)
        return good

    async def scan(self, prefix: str = "") -> tuple[dict[str, ObjectId], dict[str, str]]:
        """``(refs, bad)``: readable refs name -> id, and name -> why for garbage (fsck)."""
        if self._stored is not None:
            await self._settle()
        cut = len(self._prefix)
        good: dict[str, ObjectId] = {}
        bad: dict[str, str] = {}
        for key, raw in await self._backend.items(self._prefix + prefix):
            name = key[cut:]
            try:
                oid = self._decode(name, raw)
            except IntegrityError as exc:
                bad[name] = str(exc)
                continue
            assert oid is not None
            good[name] = oid
        return good, bad

    # -- moving -----------------------------------------------------------------------------

    @asynccontextmanager
    async def update(self, ref: str) -> AsyncIterator[RefUpdate]:
        """Hold ``ref``'s cross-context lock for a block that moves it by compare-and-set."""
        move = RefUpdate(self, ref)
        lock: AbstractAsyncContextManager[Any] = (
            services().lock(f"webstore-ref:{self.store_id}:{ref}") if self.shared
            else nullcontext())
        try:
            async with lock:
                yield move
        finally:
            for old, new in move.moves:  # durable; outside the lock: watchers may write
                await hub.moved(self.store_id, ref, old, new, self.channel)

    async def set_if_equals(self, ref: str, expected: ObjectId | None,
                            new: ObjectId | None) -> bool:
        """Atomically move ``ref`` from ``expected`` to ``new`` (``None``: absent / delete).

        Returns whether it moved; a move is announced to watchers once durable.
        """
        async with self.update(ref) as move:
            return await move.set_if_equals(expected, new)

    async def set(self, ref: str, new: ObjectId | None) -> ObjectId | None:
        """Unconditionally point ``ref`` at ``new``; returns the previous value."""
        async with self.update(ref) as move:
            while True:
                old = await self.get(ref)
                if await move.set_if_equals(old, new):
                    return old

    # -- watching ---------------------------------------------------------------------------

    def watch(self, ref: str, deliver: Deliver) -> WatchHandle:
        """Call ``deliver(old, new)`` after each durable move of ``ref``, from any context."""
        handle = WatchHandle(self.store_id, ref, deliver)
        hub.add(handle, self.channel)
        return handle
