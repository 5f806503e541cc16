"""The object format a repo was created with, kept under one key beside its objects and refs.

A repo names every object in one format for its whole life (Git's ``extensions.objectformat``).
The format is written once, when the repo is created, by the backend's compare-and-set, so two
creators race safely: the loser reads the winner's choice. A repo with objects or refs but no
format key was written by webstore 0.1.0 and is SHA-256. Asking for another format than the
stored one raises :class:`~webstore.errors.InvalidArgument` naming both.
"""

from __future__ import annotations

from webstore.backends import Backend
from webstore.errors import IntegrityError, InvalidArgument
from webstore.versioned.ids import FORMATS, SHA256, ObjectFormat
from webstore.versioned.ids import object_format as object_format_of

__all__ = ["FormatBound", "StoredFormat"]


class StoredFormat:
    """A repo's format record: read (or, for a new repo, written) once by :meth:`resolve`.

    ``requested`` is the caller's choice (``None``: whatever the repo has, SHA-256 when new);
    ``data_prefixes`` are where the repo keeps objects and refs (to recognise a 0.1.0 repo).
    """

    def __init__(self, backend: Backend, key: str, requested: ObjectFormat | None,
                 data_prefixes: tuple[str, ...]) -> None:
        self.backend = backend
        self.key = key
        self.requested = requested
        self.data_prefixes = data_prefixes
        self.format: ObjectFormat | None = None
        """The repo's format once resolved, ``None`` before."""

    @property
    def provisional(self) -> ObjectFormat:
        """The format until :meth:`resolve` has read the stored one."""
        return self.format or self.requested or SHA256

    async def resolve(self) -> ObjectFormat:
        """The repo's format: stored, or (a new repo) the requested one, stored now."""
        while self.format is None:
            raw = await self.backend.get(self.key)
            if raw is not None:
                self.format = self._check(self._decode(bytes(raw)))
                break
            chosen = self.requested or SHA256
            if chosen != SHA256 and await self._has_data():
                self._check(SHA256)  # a 0.1.0 repo: raises, naming both formats
            if await self.backend.set_if_equals(self.key, None, chosen.name.encode()):
                self.format = chosen
            # else another creator stored its choice first: read it on the next turn
        return self.format

    def _decode(self, raw: bytes) -> ObjectFormat:
        fmt = FORMATS.get(raw.decode("ascii", "replace"))
        if fmt is None:
            raise IntegrityError(f"the repo's object format key {self.key!r} holds garbage: "
                                 f"{raw[:80]!r}", key=self.key)
        return fmt

    def _check(self, stored: ObjectFormat) -> ObjectFormat:
        if self.requested is not None and self.requested != stored:
            raise InvalidArgument(
                f"object_format={self.requested.name!r}, but this repo was created with "
                f"{stored.name!r} object names; a repo keeps one format (open it without "
                f"object_format, or as {stored.name!r})", argument="object_format")
        return stored

    async def _has_data(self) -> bool:
        for prefix in self.data_prefixes:
            if await self.backend.keys(prefix):
                return True
        return False


class FormatBound:
    """What a container (object store, ref store) needs to know its repo's object format.

    Given an :class:`ObjectFormat` (or its name) the format is known at once; given a repo's
    :class:`StoredFormat` it is read (or, for a new repo, written) on the first I/O.
    """

    def __init__(self, object_format: ObjectFormat | StoredFormat | str) -> None:
        self._stored: StoredFormat | None = None
        if isinstance(object_format, StoredFormat):
            self._fmt = object_format.provisional
            self._stored = None if object_format.format is not None else object_format
        else:
            self._fmt = object_format_of(object_format)

    @property
    def object_format(self) -> ObjectFormat:
        """How ids are named (for a repo's stored format: known after the first I/O)."""
        return self._fmt

    async def resolve_format(self) -> ObjectFormat:
        """The object format, read from storage first when it is a repo's stored format."""
        if self._stored is not None:
            await self._settle()
        return self._fmt

    async def _settle(self) -> None:
        assert self._stored is not None
        self._fmt = await self._stored.resolve()
        self._stored = None
