"""The backend protocol: an async, bytes-level, sorted key space.

A backend knows nothing of values, namespaces or versions: it maps ``str`` keys to ``bytes``.
Everything else (codec, namespaces, the versioned store) is built on these few primitives.

Note for implementers: ``set_many``, ``delete_many`` and ``set_if_equals`` must be atomic
(all or nothing, one transaction). The defaults given here for ``items`` and ``delete_prefix``
are built from two calls and so are not atomic against a concurrent writer; override them when
the storage offers a single-transaction form.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from webstore.errors import IntegrityError, StoreClosed

__all__ = ["PROBE_KEY", "Backend", "Capabilities", "Selection"]

#: Key written and removed by :meth:`Backend.probe`. Store namespaces start with a digit,
#: so this key never collides with user data.
PROBE_KEY = "~webstore-probe"
_PROBE_VALUE = bytes(range(256))


@dataclass(frozen=True)
class Capabilities:
    """What a backend guarantees, declared rather than guessed by callers."""

    persistent: bool
    """Data survives closing the backend and restarting the process or browser."""
    atomic_batches: bool
    """``set_many``/``delete_many`` are all-or-nothing."""
    binary_safe: bool
    """Values are stored as raw bytes (``False``: the backend encodes them as text)."""
    max_value_bytes: int | None = None
    """Approximate largest value accepted, ``None`` when only the quota limits it."""
    shared: bool = False
    """Other processes or tabs may write the same data concurrently."""
    storage_events: bool = False
    """Other tabs see writes late but in order, each followed by a ``storage`` event
    (localStorage): cross-tab notices must ride those events to never outrun the data."""
    split_values: bool = False
    """:meth:`Backend.set_parts`/:meth:`Backend.get_parts` keep a value's data as the runtime's
    own buffer beside a small head (IndexedDB: an ``ArrayBuffer`` the JS API never copies
    into WebAssembly). Every other call still sees head and data joined as one value."""


@dataclass(frozen=True)
class Selection:
    """How a backend was chosen: its name, why, and why every other candidate was refused."""

    backend: str
    reason: str
    refused: dict[str, str] = field(default_factory=dict)


class Backend(ABC):
    """Abstract async key-value backend over ``str`` keys and ``bytes`` values."""

    name: ClassVar[str] = "abstract"
    capabilities: Capabilities
    selection: Selection | None = None

    def __init__(self) -> None:
        self._closed = False

    @classmethod
    async def create(cls, **options: Any) -> Self:
        """Open the backend; raise :class:`~webstore.errors.StorageUnavailable` if it can't be.

        The default calls the constructor; backends that must await (IndexedDB) override it.
        """
        return cls(**options)

    # -- primitives -------------------------------------------------------------------------

    @abstractmethod
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values of ``keys`` in order, ``None`` for a missing key, read in one snapshot."""

    @abstractmethod
    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Write every pair atomically; later pairs win over earlier ones with the same key."""

    @abstractmethod
    async def delete_many(self, keys: Sequence[str]) -> None:
        """Delete every key atomically; missing keys are ignored."""

    @abstractmethod
    async def keys(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, sorted by Unicode code point."""

    @abstractmethod
    async def set_if_equals(self, key: str, expected: bytes | None, new: bytes | None) -> bool:
        """Atomically set ``key`` to ``new`` if it currently holds ``expected``.

        ``None`` means absent, both for ``expected`` and ``new`` (deletes). Returns whether the
        write happened. This is the primitive branches are built on.
        """

    # -- optional: values whose data stays outside Python (capabilities.split_values) ------

    async def set_parts(self, key: str, head: bytes, data: Any) -> None:
        """Store ``head`` + ``data`` (a runtime buffer, kept as is) as the value of ``key``."""
        raise NotImplementedError(f"the {self.name} backend does not store split values")

    async def get_parts(self, key: str) -> bytes | tuple[bytes, Any] | None:
        """``(head, data)`` of a value stored by :meth:`set_parts`, else bytes or ``None``.

        The bytes of any other value; ``None`` when missing. The data is unchecked: the
        caller checks its digest.
        """
        raise NotImplementedError(f"the {self.name} backend does not store split values")

    async def collect(self) -> int:
        """Delete storage no value refers to any more; how many items were deleted.

        Backends that keep large values apart (IndexedDB's OPFS files) override this.
        """
        return 0

    # -- defaults built on the primitives ---------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """Value of one key or ``None``."""
        return (await self.get_many([key]))[0]

    async def items(self, prefix: str = "") -> list[tuple[str, bytes]]:
        """``(key, value)`` pairs under ``prefix``, sorted by key."""
        keys = await self.keys(prefix)
        values = await self.get_many(keys)
        return [(k, v) for k, v in zip(keys, values, strict=True) if v is not None]

    async def delete_prefix(self, prefix: str) -> None:
        """Delete every key under ``prefix`` (everything when empty)."""
        keys = await self.keys(prefix)
        if keys:
            await self.delete_many(keys)

    async def probe(self) -> None:
        """Prove the backend works: write, read back, delete. Raises on any failure.

        The key is unique per probe: two tabs opening one database at once would otherwise
        delete each other's probe between its write and its read.
        """
        key = f"{PROBE_KEY}-{os.urandom(8).hex()}"
        await self.set_many([(key, _PROBE_VALUE)])
        got = await self.get(key)
        await self.delete_many([key])
        if got != _PROBE_VALUE:
            raise IntegrityError(
                f"{self.name} backend returned different bytes than were written by its probe",
                key=key,
            )

    async def close(self) -> None:
        """Release resources; further calls raise :class:`~webstore.errors.StoreClosed`."""
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the {self.name} backend is closed")

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<{type(self).__name__} {self.name}{state}>"
