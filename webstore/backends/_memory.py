"""In-memory backend: the fallback everywhere, and the fastest backend for tests.

Backends with the same ``location`` in one process share one dict, so reopening a memory
store by name sees the data written before (like a RAM disk); nothing survives the process.
Values are copied on write and never alias caller memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from webstore.backends._base import Backend, Capabilities

__all__ = ["MemoryBackend"]

_SPACES: dict[str, dict[str, bytes]] = {}


class MemoryBackend(Backend):
    """A process-wide dict per ``location``; atomic because nothing awaits mid-operation."""

    name = "memory"
    capabilities = Capabilities(persistent=False, atomic_batches=True, binary_safe=True)

    def __init__(self, location: str | None = None) -> None:
        super().__init__()
        self.location = location if location is not None else "default"
        self._data = _SPACES.setdefault(self.location, {})

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        # docstring inherited
        self._check_open()
        data = self._data
        return [data.get(k) for k in keys]

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        # docstring inherited
        self._check_open()
        copied = [(k, bytes(v)) for k, v in items]  # copy first: a bad item changes nothing
        self._data.update(copied)

    async def delete_many(self, keys: Sequence[str]) -> None:
        # docstring inherited
        self._check_open()
        for k in keys:
            self._data.pop(k, None)

    async def keys(self, prefix: str = "") -> list[str]:
        # docstring inherited
        self._check_open()
        if not prefix:
            return sorted(self._data)
        return sorted(k for k in self._data if k.startswith(prefix))

    async def items(self, prefix: str = "") -> list[tuple[str, bytes]]:
        # docstring inherited
        keys = await self.keys(prefix)
        return [(k, self._data[k]) for k in keys]

    async def delete_prefix(self, prefix: str) -> None:
        # docstring inherited
        self._check_open()
        for k in [k for k in self._data if k.startswith(prefix)]:
            del self._data[k]

    async def set_if_equals(self, key: str, expected: bytes | None, new: bytes | None) -> bool:
        # docstring inherited
        self._check_open()
        if self._data.get(key) != expected:
            return False
        if new is None:
            self._data.pop(key, None)
        else:
            self._data[key] = bytes(new)
        return True

    @staticmethod
    def drop(location: str) -> None:
        """Forget every value stored under ``location`` (test isolation)."""
        _SPACES.pop(location, None)


