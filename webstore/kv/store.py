"""The user-facing key-value store: values, namespaces and validation over a backend.

A :class:`Store` is a namespace on a backend: its keys are stored under the prefix
``"<len(name)>:<name>:"``, which no other name's prefix can start with, so two stores with
different names never see each other's keys whatever characters names and keys contain.
Writes are announced to watchers (:meth:`Store.watch`, :mod:`webstore.kv.watch`) once durable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple, Self, overload

from webstore._runtime import Channel, services
from webstore.backends import Backend, Selection
from webstore.errors import (
    IntegrityError,
    InvalidArgument,
    InvalidKey,
    KeyNotFound,
    StoreClosed,
    UnsupportedValue,
)
from webstore.keys import MAX_KEY_LENGTH, namespace_prefix, plain_key, validate_key
from webstore.kv.codec import decode, decode_many, encode, encode_many, parse_head
from webstore.kv.watch import DELETE, SET, KeyChange, KeyWatchCallback, KeyWatchHandle, hub

_WATCHED = hub.watched  # store ids with a watcher in this context (one lookup per write)

__all__ = [
    "MAX_KEY_LENGTH", "KeyChange", "KeyWatchHandle", "Parts", "Store", "fsck_store",
    "namespace_prefix", "validate_key",
]

class _Pairs(Sequence[tuple[str, bytes]]):
    """``(keys[i], frames[i])`` pairs for a backend's ``set_many``, made as they are read.

    A list of 100,000 tuples costs more to build (and to collect) than a backend spends on
    most of its own work; iterating zips the two lists, which makes no tuple at all.
    """

    __slots__ = ("_frames", "_keys")

    def __init__(self, keys: list[str], frames: list[bytes]) -> None:
        self._keys, self._frames = keys, frames

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> tuple[str, bytes]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, bytes]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, bytes] | list[tuple[str, bytes]]:
        if isinstance(index, slice):
            return list(zip(self._keys[index], self._frames[index], strict=True))
        return self._keys[index], self._frames[index]

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return zip(self._keys, self._frames, strict=True)


class Parts(NamedTuple):
    """A value read by :meth:`Store.get_parts` whose data is still the runtime's buffer."""

    kind: str
    """``"bytes"`` or a typed-array kind (``"Float64Array"``)."""
    digest: bytes
    """The SHA-256 the data must have."""
    length: int
    """Elements of a typed array (``-1`` for bytes)."""
    data: Any
    """The runtime's buffer (a JS ``ArrayBuffer``), not yet checked."""


class Store:
    """Async key-value store: ``get``/``set``/``delete``/``has``/``keys``/``items`` and batches.

    Values are anything :mod:`webstore.kv.codec` accepts. ``get`` returns a default for a
    missing key; :meth:`require` raises :class:`~webstore.errors.KeyNotFound` instead.
    ``store_id`` names the storage (backend, location, store name): every store on the same
    storage, in any tab, has the same id and sees the same change events (:meth:`watch`).
    """

    def __init__(self, backend: Backend, name: str = "default", *, owns_backend: bool = True):
        if not isinstance(backend, Backend):
            raise InvalidArgument(
                f"backend must be a Backend, not {type(backend).__name__}", argument="backend"
            )
        if type(name) is not str:
            raise InvalidArgument(f"name must be a str, not {type(name).__name__}",
                                  argument="name")
        self._backend = backend
        self.name = name
        self._prefix = namespace_prefix(name)
        self._owns_backend = owns_backend
        self._closed = False
        where = getattr(backend, "location", None) or getattr(backend, "path", None) \
            or id(backend)
        self.store_id = f"kv:{backend.name}:{where}:{name}"
        caps = backend.capabilities
        self.channel: Channel | None = services().channel(
            self.store_id, storage_events=caps.storage_events) if caps.shared else None
        """Carries changes to other tabs and workers; every write to a shared store (one other
        contexts can open) is published there, since they may watch it. ``None``: no others."""
        self._handles: list[KeyWatchHandle] = []

    # -- introspection ----------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The backend this store writes to (``backend.name``, ``backend.capabilities``)."""
        return self._backend

    @property
    def selection(self) -> Selection | None:
        """Which backend was chosen, why, and why the others were refused."""
        return self._backend.selection

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __repr__(self) -> str:
        return f"<Store {self.name!r} on {self._backend.name}{' closed' if self._closed else ''}>"

    # -- helpers ----------------------------------------------------------------------------

    def _check(self) -> None:
        if self._closed:
            raise StoreClosed(f"store {self.name!r} is closed")

    def _key(self, key: object, argument: str = "key") -> str:
        if plain_key(key):
            return self._prefix + key  # type: ignore[operator]
        return self._prefix + validate_key(key, argument)

    def _keys(self, keys: object, argument: str = "keys") -> list[str]:
        if isinstance(keys, (str, bytes)) or not isinstance(keys, Iterable):
            raise InvalidArgument(
                f"{argument} must be an iterable of str keys, not {type(keys).__name__}",
                argument=argument,
            )
        prefix = self._prefix
        out = [prefix + k if type(k) is str and k.isascii() and 0 < len(k) <= MAX_KEY_LENGTH
               else prefix + validate_key(k, f"{argument}[{i}]") for i, k in enumerate(keys)]
        return out

    async def _changed(self, changes: list[KeyChange]) -> None:
        """Announce a durable write (callers first check that anyone may listen)."""
        await hub.changed(self.store_id, changes, self.channel)

    def _prefix_arg(self, prefix: object) -> str:
        if type(prefix) is not str:
            raise InvalidArgument(f"prefix must be a str, not {type(prefix).__name__}",
                                  argument="prefix")
        return self._prefix + prefix

    # -- single keys ------------------------------------------------------------------------

    async def get(self, key: str, default: Any = None) -> Any:
        """Value of ``key``, or ``default`` when it is missing."""
        self._check()
        full = self._key(key)
        raw = await self._backend.get(full)
        return default if raw is None else decode(raw, key)

    async def require(self, key: str) -> Any:
        """Value of ``key``; raises :class:`KeyNotFound` when it is missing."""
        self._check()
        raw = await self._backend.get(self._key(key))
        if raw is None:
            raise KeyNotFound(key, where=f"store {self.name!r}")
        return decode(raw, key)

    async def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (replacing any previous value)."""
        self._check()
        full = self._key(key)
        await self._backend.set_many([(full, encode(value))])
        if self.channel is not None or self.store_id in _WATCHED:
            await self._changed([KeyChange(key, SET)])

    async def set_parts(self, key: str, head: bytes, data: Any) -> None:
        """Store a value whose data stays the runtime's buffer (the JS API's typed arrays).

        ``head`` comes from :func:`~webstore.kv.codec.parts_head` (kind, length, SHA-256 of
        ``data``); ``data`` is handed to the backend untouched, so it is never copied into
        Python. Only for backends with ``capabilities.split_values``; reads through any other
        call see the joined value and check it like any other.
        """
        self._check()
        if not self._backend.capabilities.split_values:
            raise InvalidArgument(f"the {self._backend.name} backend does not store split "
                                  "values", argument="data")
        parse_head(head, key)
        await self._backend.set_parts(self._key(key), head, data)
        if self.channel is not None or self.store_id in _WATCHED:
            await self._changed([KeyChange(key, SET)])

    async def get_parts(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (``default`` when missing), or its :class:`Parts`.

        :class:`Parts` when it was stored by :meth:`set_parts`: its data is then the runtime's
        buffer, which the caller must check against ``Parts.digest`` before use (the JS API
        does, natively).
        """
        self._check()
        if not self._backend.capabilities.split_values:
            return await self.get(key, default)
        found = await self._backend.get_parts(self._key(key))
        if found is None:
            return default
        if not isinstance(found, tuple):
            return decode(found, key)
        head, data = found
        kind, digest, count = parse_head(head, key)
        return Parts(kind, digest, count, data)

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        self._check()
        await self._backend.delete_many([self._key(key)])
        if self.channel is not None or self.store_id in _WATCHED:
            await self._changed([KeyChange(key, DELETE)])

    async def has(self, key: str) -> bool:
        """Whether ``key`` holds a value."""
        self._check()
        return await self._backend.get(self._key(key)) is not None

    async def set_if_equals(self, key: str, expected: Any, new: Any) -> bool:
        """Atomically replace ``key``'s value if it equals ``expected`` (``None``: absent).

        ``new=None`` deletes; a key holding a stored ``None`` is present, so it never matches
        ``expected=None``. Values are compared by their encoded bytes, which is exact for
        scalars (the intended use: version stamps, ids); dicts compare in insertion order.
        """
        self._check()
        full = self._key(key)
        old = None if expected is None else encode(expected)
        done = await self._backend.set_if_equals(
            full, old, None if new is None else encode(new)
        )
        if done and (self.channel is not None or self.store_id in _WATCHED):
            await self._changed([KeyChange(key, DELETE if new is None else SET)])
        return done

    # -- listing ----------------------------------------------------------------------------

    async def keys(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, sorted by Unicode code point."""
        self._check()
        full = self._prefix_arg(prefix)
        cut = len(self._prefix)
        return [k[cut:] for k in await self._backend.keys(full)]

    async def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """``(key, value)`` pairs whose key starts with ``prefix``, sorted by key."""
        self._check()
        full = self._prefix_arg(prefix)
        cut = len(self._prefix)
        return [
            (k[cut:], decode(v, k[cut:])) for k, v in await self._backend.items(full)
        ]

    # -- batches ----------------------------------------------------------------------------

    async def set_many(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Store every pair atomically: all of them, or (on any error) none.

        Every key and value is validated and encoded before anything is written, so an
        unsupported value raises :class:`UnsupportedValue` and leaves the store unchanged.
        """
        self._check()
        pairs = items.items() if isinstance(items, Mapping) else items
        if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
            raise InvalidArgument(
                "items must be a mapping or an iterable of (key, value) pairs, not "
                f"{type(items).__name__}", argument="items",
            )
        full: list[str] = []
        values: list[Any] = []
        add_key, add_value, prefix = full.append, values.append, self._prefix
        for i, pair in enumerate(pairs):
            if type(pair) is not tuple or len(pair) != 2:
                self._encode_before(values, full, i)
                raise InvalidArgument(f"items[{i}] must be a (key, value) tuple",
                                      argument="items")
            key, value = pair
            if type(key) is not str or not key.isascii() or not 0 < len(key) <= MAX_KEY_LENGTH:
                try:
                    validate_key(key, f"items[{i}] key")
                except InvalidKey:
                    self._encode_before(values, full, i)
                    raise
            add_key(prefix + key)
            add_value(value)
        try:
            frames = encode_many(values)
        except UnsupportedValue:
            self._encode_before(values, full, len(values))
            raise
        if full:
            await self._backend.set_many(_Pairs(full, frames))
            if self.channel is not None or self.store_id in _WATCHED:
                cut = len(prefix)
                await self._changed([KeyChange(k[cut:], SET) for k in dict.fromkeys(full)])

    def _encode_before(self, values: list[Any], full: list[str], stop: int) -> None:
        """Raise for the first of ``values[:stop]`` that cannot be encoded, naming its item.

        ``set_many`` checks keys and pairs first and encodes the values in one batch; when
        anything fails, this keeps the reported error the first bad item's, in order.
        """
        cut = len(self._prefix)
        for i in range(stop):
            try:
                encode(values[i])
            except UnsupportedValue as exc:
                raise UnsupportedValue(
                    f"{exc}, for key {full[i][cut:]!r} (items[{i}]); nothing was written",
                    type_name=exc.type_name, path=exc.path,
                ) from None

    async def get_many(self, keys: Sequence[str], default: Any = None) -> list[Any]:
        """Values of ``keys`` in order (``default`` for missing ones), from one snapshot."""
        self._check()
        full = self._keys(keys)
        raws = await self._backend.get_many(full)
        if len(raws) != len(full):
            raise ValueError(f"backend returned {len(raws)} values for {len(full)} keys")
        return decode_many(raws, full, default, len(self._prefix))

    async def delete_many(self, keys: Iterable[str]) -> None:
        """Remove every key atomically; missing keys are ignored."""
        self._check()
        full = self._keys(keys)
        if full:
            await self._backend.delete_many(full)
            if self.channel is not None or self.store_id in _WATCHED:
                cut = len(self._prefix)
                await self._changed([KeyChange(k[cut:], DELETE) for k in dict.fromkeys(full)])

    async def fsck(self, *, batch: int = 256) -> dict[str, str]:
        """Decode every value; return key -> why it is corrupt (empty when all are intact)."""
        self._check()
        bad: dict[str, str] = {}
        keys = await self.keys()
        for start in range(0, len(keys), batch):
            chunk = keys[start:start + batch]
            raws = await self._backend.get_many([self._prefix + k for k in chunk])
            for key, raw in zip(chunk, raws, strict=True):
                if raw is None:
                    continue  # deleted meanwhile
                try:
                    decode(raw, key)
                except IntegrityError as exc:
                    bad[key] = str(exc)
        return bad

    async def collect(self) -> int:
        """Reclaim the space of deleted and overwritten large values; how many files went.

        Only IndexedDB where large values live on OPFS keeps such files (the space of any
        other value is freed by the write itself). Safe while other tabs and workers write.
        """
        self._check()
        return await self._backend.collect()

    async def clear(self) -> None:
        """Remove every key of this store (other stores on the backend are untouched).

        When anyone may watch, the keys are listed, then deleted in one atomic batch that is
        reported key by key; a key another context writes meanwhile survives, as if written
        just after the clear.
        """
        self._check()
        if self.channel is None and self.store_id not in _WATCHED:
            await self._backend.delete_prefix(self._prefix)
            return
        full = await self._backend.keys(self._prefix)
        if full:
            await self._backend.delete_many(full)
            cut = len(self._prefix)
            await self._changed([KeyChange(k[cut:], DELETE) for k in full])

    # -- change events ----------------------------------------------------------------------

    def watch(self, callback: KeyWatchCallback, prefix: str = "") -> KeyWatchHandle:
        """Call ``callback(changes)`` after each durable write to this store, from any context.

        ``changes`` lists the :class:`KeyChange` ``(key, "set" | "delete")`` of one atomic
        write (``set``, ``set_many``, ``delete``, ``delete_many``, ``clear``, a successful
        ``set_if_equals``) whose key starts with ``prefix``; a write touching nothing there is
        not reported. Values are not included: read them. Writes in other tabs and workers of
        the origin arrive through the runtime's channel; other processes on one SQLite file
        are not reported. Errors raised by ``callback`` are kept on the handle and logged.
        """
        self._check()
        if not callable(callback):
            raise InvalidArgument(f"callback must be callable, not {type(callback).__name__}",
                                  argument="callback")
        if type(prefix) is not str:
            raise InvalidArgument(f"prefix must be a str, not {type(prefix).__name__}",
                                  argument="prefix")
        handle = KeyWatchHandle(self.store_id, prefix, callback)
        hub.add(handle, self.channel)
        self._handles.append(handle)
        return handle

    def unwatch(self, handle: KeyWatchHandle) -> None:
        """Stop a watch started by :meth:`watch` (idempotent)."""
        handle.unwatch()

    # -- lifetime ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the store (and its backend if the store opened it), ending its watches.

        Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        for handle in self._handles:
            handle.unwatch()
        self._handles.clear()
        if self._owns_backend:
            await self._backend.close()

    async def __aenter__(self) -> Self:
        self._check()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def fsck_store(store: Store) -> dict[str, str]:
    """Decode every value of ``store``; key -> why corrupt (see :meth:`Store.fsck`)."""
    return await store.fsck()
