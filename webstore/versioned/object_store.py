"""Content-addressed, append-only object store over any backend (Irmin's content store).

``put`` is "hash, then set": an object's key is its name in the repo's object format (SHA-256
or SHA-1), so writing it twice is harmless and nothing is ever overwritten with other bytes.
Every read recomputes the hash and raises :class:`~webstore.errors.IntegrityError` naming the
object when the bytes do not match.
Parsed trees and commits are cached: they are immutable once verified.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

from webstore.backends import Backend
from webstore.errors import IntegrityError
from webstore.versioned.formats import FormatBound, StoredFormat
from webstore.versioned.ids import SHA256, ObjectFormat, ObjectId, to_hex
from webstore.versioned.objects import Blob, Commit, GitObject, Tree, parse_object

__all__ = ["ObjectStore"]

_CACHE_SIZE = 16384


class ObjectStore(FormatBound):
    """Objects under ``prefix`` on ``backend``, keyed by their hex name in ``object_format``.

    ``object_format`` is an :class:`ObjectFormat` (or its name), or a repo's
    :class:`StoredFormat`, read (or, for a new repo, written) before the first read or write.
    """

    def __init__(self, backend: Backend, prefix: str, *,
                 object_format: ObjectFormat | StoredFormat | str = SHA256,
                 cache_size: int = _CACHE_SIZE) -> None:
        self._backend = backend
        self._prefix = prefix
        self._cache: dict[ObjectId, GitObject] = {}
        self._cache_size = cache_size
        super().__init__(object_format)

    def id_of(self, obj: GitObject) -> ObjectId:
        """The name ``obj`` is stored under here."""
        return self._fmt.hash_object(obj.raw())

    def _key(self, oid: ObjectId) -> str:
        return self._prefix + to_hex(oid)

    # -- writing ----------------------------------------------------------------------------

    async def add(self, objects: Iterable[GitObject]) -> list[ObjectId]:
        """Store objects in one atomic batch; return their ids in order."""
        if self._stored is not None:
            await self._settle()
        hash_object = self._fmt.hash_object
        pairs: list[tuple[ObjectId, bytes]] = []
        for obj in objects:
            raw = obj.raw()
            pairs.append((hash_object(raw), raw))
        await self.add_raw_verified(pairs)
        return [oid for oid, _ in pairs]

    async def add_raw_verified(self, pairs: Sequence[tuple[ObjectId, bytes]]) -> None:
        """Store pairs whose ids the caller computed itself."""
        if self._stored is not None:
            await self._settle()
        if pairs:
            await self._backend.set_many([(self._key(oid), raw) for oid, raw in pairs])

    # -- reading ----------------------------------------------------------------------------

    def verify(self, oid: ObjectId, raw: bytes) -> bytes:
        """``raw`` if it hashes to ``oid``, else :class:`IntegrityError` naming the object."""
        got = self._fmt.hash_object(raw)
        if got != oid:
            raise IntegrityError(
                f"object {to_hex(oid)} is corrupt: its bytes hash to {to_hex(got)}",
                key=to_hex(oid), expected=to_hex(oid), got=to_hex(got),
            )
        return raw

    async def get_raw(self, oid: ObjectId) -> bytes | None:
        """Verified serialised bytes of an object, ``None`` when it is not stored."""
        if self._stored is not None:
            await self._settle()
        raw = await self._backend.get(self._key(oid))
        return None if raw is None else self.verify(oid, bytes(raw))

    async def get_raw_many(self, oids: Sequence[ObjectId], *, verify: bool = True
                           ) -> list[bytes | None]:
        """Bytes of several objects in one backend read, verified unless ``verify`` is false.

        Unverified reads are for callers that check and report themselves (fsck, sync).
        """
        if self._stored is not None:
            await self._settle()
        raws = await self._backend.get_many([self._key(o) for o in oids])
        if not verify:
            return [None if r is None else bytes(r) for r in raws]
        return [None if r is None else self.verify(o, bytes(r)) for o, r in zip(oids, raws,
                                                                                  strict=True)]

    async def has_many(self, oids: Sequence[ObjectId]) -> list[bool]:
        """Which objects are stored (unverified: used to skip copies)."""
        if self._stored is not None:
            await self._settle()
        raws = await self._backend.get_many([self._key(o) for o in oids])
        return [r is not None for r in raws]

    async def get(self, oid: ObjectId) -> GitObject | None:
        """The parsed object, ``None`` when it is not stored."""
        cached = self._cache.get(oid)
        if cached is not None:
            return cached
        raw = await self.get_raw(oid)
        if raw is None:
            return None
        return self._remember(oid, parse_object(raw, oid, self._fmt))

    def _remember(self, oid: ObjectId, obj: GitObject) -> GitObject:
        if not isinstance(obj, Blob):
            if len(self._cache) >= self._cache_size:
                del self._cache[next(iter(self._cache))]
            self._cache[oid] = obj
        return obj

    async def read_many(self, oids: Sequence[ObjectId], cls: type[GitObject] = GitObject
                        ) -> list[GitObject]:
        """Parsed objects (of type ``cls``) that must exist; one backend read for the uncached.

        A walk reads a whole level of a tree at once: in a browser each read is a round trip.
        """
        got = {o: self._cache[o] for o in oids if o in self._cache}
        todo = [o for o in dict.fromkeys(oids) if o not in got]
        if todo:
            for oid, raw in zip(todo, await self.get_raw_many(todo), strict=True):
                if raw is None:
                    raise IntegrityError(f"object {to_hex(oid)} is missing", key=to_hex(oid))
                got[oid] = self._remember(oid, parse_object(raw, oid, self._fmt))
        out = [got[o] for o in oids]
        for oid, obj in zip(oids, out, strict=True):
            if not isinstance(obj, cls):
                raise IntegrityError(
                    f"object {to_hex(oid)} is a {obj.type_name.decode()}, expected a "
                    f"{cls.type_name.decode()}", key=to_hex(oid))
        return out

    async def read(self, oid: ObjectId) -> GitObject:
        """The parsed object; a missing one is an :class:`IntegrityError` (it was referenced)."""
        obj = await self.get(oid)
        if obj is None:
            raise IntegrityError(f"object {to_hex(oid)} is missing", key=to_hex(oid))
        return obj

    async def _typed(self, oid: ObjectId, cls: type[GitObject]) -> GitObject:
        obj = await self.read(oid)
        if not isinstance(obj, cls):
            raise IntegrityError(
                f"object {to_hex(oid)} is a {obj.type_name.decode()}, expected a "
                f"{cls.type_name.decode()}", key=to_hex(oid),
            )
        return obj

    async def read_tree(self, oid: ObjectId) -> Tree:
        """A tree that must exist."""
        obj = await self._typed(oid, Tree)
        assert isinstance(obj, Tree)
        return obj

    async def read_commit(self, oid: ObjectId) -> Commit:
        """A commit that must exist."""
        obj = await self._typed(oid, Commit)
        assert isinstance(obj, Commit)
        return obj

    async def read_blob(self, oid: ObjectId) -> Blob:
        """A blob that must exist."""
        obj = await self._typed(oid, Blob)
        assert isinstance(obj, Blob)
        return obj

    async def names(self) -> list[str]:
        """The name every stored object is kept under (fsck reports malformed ones)."""
        if self._stored is not None:
            await self._settle()
        cut = len(self._prefix)
        return [k[cut:] for k in await self._backend.keys(self._prefix)]

    async def ids(self) -> list[ObjectId]:
        """Every stored object id."""
        return [ObjectId(bytes.fromhex(n)) for n in await self.names()]

    async def walk(self, roots: Mapping[ObjectId, str]
                   ) -> AsyncIterator[tuple[ObjectId, str, GitObject | IntegrityError | None]]:
        """Breadth-first over everything reachable from ``roots`` (id -> who refers to it).

        Yields ``(id, referrer, found)``: the parsed object, the :class:`IntegrityError` saying
        why it is corrupt, or ``None`` when it is missing. Each object is read once, a level
        at a time, bypassing the parse cache so every byte is re-hashed.
        """
        seen: set[ObjectId] = set(roots)
        frontier = list(roots.items())
        while frontier:
            raws = await self.get_raw_many([oid for oid, _ in frontier], verify=False)
            nxt: list[tuple[ObjectId, str]] = []
            for (oid, referrer), raw in zip(frontier, raws, strict=True):
                if raw is None:
                    yield oid, referrer, None
                    continue
                try:
                    obj = parse_object(self.verify(oid, raw), oid, self._fmt)
                except IntegrityError as exc:
                    yield oid, referrer, exc
                    continue
                yield oid, referrer, obj
                for child in _children(obj):
                    if child not in seen:
                        seen.add(child)
                        nxt.append((child, to_hex(oid)))
            frontier = nxt

    async def reachable(self, heads: Sequence[ObjectId]) -> list[ObjectId]:
        """Every object reachable from ``heads``, verified; missing or corrupt ones raise."""
        out: list[ObjectId] = []
        async for oid, _, found in self.walk({h: "head" for h in heads}):
            if found is None:
                raise IntegrityError(f"object {to_hex(oid)} is missing", key=to_hex(oid))
            if isinstance(found, IntegrityError):
                raise found
            out.append(oid)
        return out

    def forget_cache(self) -> None:
        """Drop parsed objects so the next reads re-verify the stored bytes."""
        self._cache.clear()


def _children(obj: GitObject) -> list[ObjectId]:
    if isinstance(obj, Commit):
        return [obj.tree, *obj.parents]
    if isinstance(obj, Tree):
        return [e.id for e in obj.entries.values()]
    return []
