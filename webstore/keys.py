"""What a key is, for every layer: the key-value store's keys and the versioned store's paths.

A store's keys live on the backend under ``"<len(name)>:<name>:"`` (:func:`namespace_prefix`),
which no other name's prefix can start with, so stores with different names never see each
other's keys whatever characters names and keys contain.
"""

from __future__ import annotations

from webstore.errors import InvalidKey

__all__ = ["MAX_KEY_LENGTH", "namespace_prefix", "plain_key", "validate_key"]

#: Longest key accepted, in characters (after which IndexedDB and SQLite stay fast).
MAX_KEY_LENGTH = 4096


def validate_key(key: object, argument: str = "key") -> str:
    """Return ``key`` if it is a non-empty ``str`` of valid Unicode, else raise InvalidKey."""
    if type(key) is not str:
        raise InvalidKey(f"{argument} must be a str, not {type(key).__name__}", key=key)
    if not key:
        raise InvalidKey(f"{argument} must not be empty", key=key)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(
            f"{argument} is {len(key)} characters long; the limit is {MAX_KEY_LENGTH}", key=key
        )
    if not key.isascii():
        try:
            key.encode()
        except UnicodeEncodeError:
            raise InvalidKey(f"{argument} contains a lone surrogate: {key!r}", key=key) from None
    return key


def plain_key(key: object) -> bool:
    """Fast check for the common case: a short, non-empty ASCII ``str``."""
    return type(key) is str and 0 < len(key) <= MAX_KEY_LENGTH and key.isascii()


def namespace_prefix(name: str) -> str:
    """Backend key prefix of the namespace ``name`` (prefix-free across names)."""
    return f"{len(name)}:{name}:"
