"""``webstore.open``: from "what the user has" to an open :class:`Store`."""

from __future__ import annotations

import os
import warnings
from collections.abc import Generator
from types import TracebackType
from typing import Any

from webstore.backends import Backend, open_backend
from webstore.errors import InvalidArgument
from webstore.kv.store import Store

__all__ = ["open"]


async def _open(
    name: str, backend: str | Backend | None, location: str | os.PathLike[str] | None
) -> Store:
    if type(name) is not str:
        raise InvalidArgument(f"name must be a str, not {type(name).__name__}", argument="name")
    if location is not None and not isinstance(location, (str, os.PathLike)):
        raise InvalidArgument(
            f"path/location must be a str or path, not {type(location).__name__}",
            argument="path",
        )
    options: dict[str, Any] = {} if location is None else {"location": location}
    owns = not isinstance(backend, Backend)
    opened = await open_backend(backend, **options)
    return Store(opened, name, owns_backend=owns)


class _Opening:
    """Awaitable *and* async context manager, so both spellings work.

    ``store = await webstore.open("x")`` and ``async with webstore.open("x") as store:``.
    """

    def __init__(self, name: str, backend: str | Backend | None,
                 location: str | os.PathLike[str] | None) -> None:
        self._args = (name, backend, location)
        self._store: Store | None = None

    def __await__(self) -> Generator[Any, None, Store]:
        return _open(*self._args).__await__()

    async def __aenter__(self) -> Store:
        self._store = await _open(*self._args)
        return self._store

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._store is not None:
            await self._store.close()


def open(
    name: str = "default",
    backend: str | Backend | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    location: str | os.PathLike[str] | None = None,
) -> _Opening:
    """Open the store ``name`` on ``backend`` (auto-selected by probing when ``None``).

    ``path`` (deprecated alias: ``location``) says where the backend keeps its data: the SQLite
    file, the IndexedDB database name, the localStorage key prefix, or the memory space name.
    On CPython the default is SQLite at ``$WEBSTORE_PATH`` or a per-user data directory.
    """
    if location is not None:
        warnings.warn("webstore.open(location=...) is deprecated; use path=...",
                      DeprecationWarning, stacklevel=2)
        if path is not None:
            raise InvalidArgument("give path or location, not both", argument="path")
    return _Opening(name, backend, path if path is not None else location)
