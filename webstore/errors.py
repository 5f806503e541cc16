"""Every error webstore raises, in one place.

Each domain error also subclasses the builtin a Python user would already catch
(``KeyError`` for a missing key, ``OSError`` for a full or unavailable storage ...), and
carries structured fields so callers need not parse messages.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "Conflict",
    "IntegrityError",
    "InvalidArgument",
    "InvalidKey",
    "KeyNotFound",
    "RefMoved",
    "StorageFull",
    "StorageUnavailable",
    "StoreClosed",
    "UnsupportedValue",
    "WebstoreError",
]


class WebstoreError(Exception):
    """Base class of every webstore error."""


class InvalidArgument(WebstoreError, ValueError):
    """A public call got an argument it cannot accept; the message names it."""

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class InvalidKey(WebstoreError, ValueError):
    """A key is not a non-empty ``str`` of valid Unicode within the length limit."""

    def __init__(self, message: str, *, key: object = None) -> None:
        super().__init__(message)
        self.key = key


class KeyNotFound(WebstoreError, KeyError):
    """A key (or path) that had to exist does not."""

    def __init__(self, key: object, *, where: str = "") -> None:
        super().__init__(key)
        self.key = key
        self.where = where

    def __str__(self) -> str:
        suffix = f" in {self.where}" if self.where else ""
        return f"key not found{suffix}: {self.key!r}"


class UnsupportedValue(WebstoreError, TypeError):
    """A value (or a part of it) cannot be stored; names the type and where it was found."""

    def __init__(self, message: str, *, type_name: str = "", path: str = "") -> None:
        super().__init__(message)
        self.type_name = type_name
        self.path = path


class StorageFull(WebstoreError, OSError):
    """The backend refused a write for lack of space; nothing of that write was kept."""

    def __init__(self, message: str, *, backend: str = "") -> None:
        super().__init__(message)
        self.backend = backend


class StorageUnavailable(WebstoreError, OSError):
    """A backend cannot be used here; ``reason`` says why (private mode, missing API ...)."""

    def __init__(self, message: str, *, backend: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.backend = backend
        self.reason = reason or message


class AuthenticationFailed(StorageUnavailable, PermissionError):
    """A Git server refused the credentials given (or asked for some): HTTP 401/403.

    The message names the server's URL without credentials; no secret is ever in it.
    """


class StoreClosed(WebstoreError, ValueError):
    """The store or backend was closed; like I/O on a closed file, this is a ``ValueError``."""


class IntegrityError(WebstoreError, ValueError):
    """Stored bytes do not match their checksum or object hash: the data is corrupt.

    ``key`` names the key or object id; ``expected`` and ``got`` are the two digests.
    """

    def __init__(
        self, message: str, *, key: object = None, expected: str = "", got: str = ""
    ) -> None:
        super().__init__(message)
        self.key = key
        self.expected = expected
        self.got = got


class Conflict(WebstoreError, ValueError):
    """A merge or update could not be completed without losing someone's change."""

    def __init__(self, message: str, *, details: object = None) -> None:
        super().__init__(message)
        self.details = details


class RefMoved(Conflict):
    """A compare-and-set on a branch failed: it no longer points where the caller expected."""

    def __init__(self, message: str, *, ref: str = "", expected: object = None,
                 got: object = None) -> None:
        super().__init__(message)
        self.ref = ref
        self.expected = expected
        self.got = got
