"""Applying hostile operations to a store and a dict model, checking each outcome.

Plain ``async`` code without Hypothesis, so programs generated on a host can be replayed in
Pyodide (browsers, Node) as well as on CPython.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from typing import Any

from webstore.errors import (
    InvalidArgument,
    InvalidKey,
    KeyNotFound,
    UnsupportedValue,
    WebstoreError,
)
from webstore.kv import codec
from webstore.kv.store import Store, namespace_prefix
from webstore.testing._oracle import Deep, expect_key, expect_value
from webstore.testing._values import same

__all__ = ["HostileReplayer"]

_MISSING = object()  # what ``get`` returns for a missing key in these checks
_NO_CHECK = object()  # the call's result is not compared
_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother = 4, 60, 60


class HostileReplayer:
    """Applies operations to a store and a dict model; raises AssertionError on divergence.

    ``max_row_bytes`` is the backend's largest row (key + value) when lower than what the
    generated values reach, so a value over it is expected to raise ``UnsupportedValue``.
    """

    def __init__(self, store: Store, max_row_bytes: int | None = None) -> None:
        self.store = store
        self.model: dict[str, Any] = {}
        self.max_row_bytes = max_row_bytes
        self.errors: dict[str, int] = {}
        self.round_trips = 0

    async def apply(self, op: Sequence[Any]) -> None:
        """Run one operation; check its result or its error against the oracle."""
        op = _unwrap(op)
        kind = op[0]
        handler = getattr(self, f"_{kind}")
        expected, after = self._expect(op)
        try:
            got = await handler(op)
        except WebstoreError as exc:
            if expected is None or not isinstance(exc, expected):
                raise AssertionError(f"{_repr.repr(op)}: raised {exc!r:.300}, expected "
                                     f"{'success' if expected is None else expected.__name__}"
                                     ) from exc
            _check_names_argument(exc, kind)
            self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
            return
        if expected is not None:
            raise AssertionError(f"{_repr.repr(op)}: returned {_repr.repr(got)}, expected "
                                 f"{expected.__name__}")
        if after is not _NO_CHECK:
            _expect_same(got, after, op)
        self.round_trips += 1

    async def verify(self) -> None:
        """The whole store equals the model."""
        got = await self.store.items()
        want = sorted(self.model.items())
        if len(got) != len(want) or not all(
            gk == wk and same(gv, wv) for (gk, gv), (wk, wv) in zip(got, want, strict=True)
        ):
            raise AssertionError(f"store holds {_repr.repr(got)}, model holds {_repr.repr(want)}")

    # -- expectations: (error class or None, value the call must return or _NO_CHECK) -----

    def _too_big(self, key: str, value: Any) -> bool:
        if self.max_row_bytes is None:
            return False
        full = namespace_prefix(self.store.name) + key
        return len(full.encode()) + len(codec.encode(value)) > self.max_row_bytes

    def _expect(self, op: Sequence[Any]) -> tuple[type[WebstoreError] | None, Any]:
        kind, model = op[0], self.model
        if kind in ("get", "has", "delete"):
            if expect_key(op[1]):
                return InvalidKey, _NO_CHECK
            if kind == "delete":
                return None, _NO_CHECK
            return None, (op[1] in model) if kind == "has" else model.get(op[1], _MISSING)
        if kind in ("get_many", "delete_many"):
            for k in op[1]:
                if expect_key(k):
                    return InvalidKey, _NO_CHECK
            return None, [model.get(k) for k in op[1]] if kind == "get_many" else _NO_CHECK
        if kind == "keys":
            if type(op[1]) is not str:
                return InvalidArgument, _NO_CHECK
            return None, sorted(k for k in model if k.startswith(op[1]))
        if kind == "set":
            if expect_key(op[1]):
                return InvalidKey, _NO_CHECK
            ok, _ = expect_value(op[2])
            if not ok or self._too_big(op[1], op[2]):
                return UnsupportedValue, _NO_CHECK
            return None, _NO_CHECK
        if kind == "set_many":
            return self._expect_set_many(op[1]), _NO_CHECK
        if kind == "cas":
            if expect_key(op[1]):
                return InvalidKey, _NO_CHECK
            ok, _ = expect_value(op[3])
            if not ok:
                return UnsupportedValue, _NO_CHECK
            # Too big for the backend matters only if the compare succeeds and it writes.
            if self._cas_writes(op) and op[3] is not None and self._too_big(op[1], op[3]):
                return UnsupportedValue, _NO_CHECK
            return None, _NO_CHECK
        raise ValueError(f"unknown operation {kind!r}")

    def _expect_set_many(self, pairs: list[Any]) -> type[WebstoreError] | None:
        for pair in pairs:
            if type(pair) is not tuple or len(pair) != 2:
                return InvalidArgument
            if expect_key(pair[0]):
                return InvalidKey
            if not expect_value(pair[1])[0]:
                return UnsupportedValue
        if any(self._too_big(k, v) for k, v in pairs):
            return UnsupportedValue
        return None

    # -- the calls (each updates the model only when the call succeeded) ------------------

    async def _get(self, op: Sequence[Any]) -> Any:
        return await self.store.get(op[1], _MISSING)

    async def _has(self, op: Sequence[Any]) -> Any:
        return await self.store.has(op[1])

    async def _delete(self, op: Sequence[Any]) -> None:
        await self.store.delete(op[1])
        self.model.pop(op[1], None)

    async def _get_many(self, op: Sequence[Any]) -> Any:
        return await self.store.get_many(op[1])

    async def _delete_many(self, op: Sequence[Any]) -> None:
        await self.store.delete_many(op[1])
        for k in op[1]:
            self.model.pop(k, None)

    async def _keys(self, op: Sequence[Any]) -> Any:
        return await self.store.keys(op[1])

    async def _set(self, op: Sequence[Any]) -> None:
        await self.store.set(op[1], op[2])
        self.model[op[1]] = expect_value(op[2])[1]
        await self._read_back(op[1])

    async def _set_many(self, op: Sequence[Any]) -> None:
        await self.store.set_many(op[1])
        for k, v in op[1]:
            self.model[k] = expect_value(v)[1]
        for k, _ in op[1]:
            await self._read_back(k)

    def _cas_writes(self, op: Sequence[Any]) -> bool:
        _, key, current, _new = op
        return bool(current and (self.model.get(key) is not None or key not in self.model))

    async def _cas(self, op: Sequence[Any]) -> None:
        _, key, current, new = op
        expected = self.model.get(key) if current else "\x00 never stored by a program"
        should = self._cas_writes(op)
        done = await self.store.set_if_equals(key, expected, new)
        if done != should:
            raise AssertionError(f"{_repr.repr(op)}: set_if_equals returned {done}, "
                                 f"expected {should}")
        if done:
            if new is None:
                self.model.pop(key, None)
            else:
                self.model[key] = expect_value(new)[1]

    async def _read_back(self, key: str) -> None:
        try:
            got = await self.store.require(key)
        except KeyNotFound:
            raise AssertionError(f"{_repr.repr(key)} was written but is missing") from None
        _expect_same(got, self.model[key], ("read back", key))


def _unwrap(op: Sequence[Any]) -> tuple[Any, ...]:
    """The operation with every :class:`Deep` replaced by its value."""
    def real(x: Any) -> Any:
        if isinstance(x, Deep):
            return x.value
        if type(x) is tuple and len(x) == 2:
            return (real(x[0]), real(x[1]))
        return x

    out = [real(x) for x in op]
    if op[0] == "set_many":
        out[1] = [real(pair) for pair in op[1]]
    return tuple(out)


def _expect_same(got: Any, want: Any, op: Sequence[Any]) -> None:
    if not same(got, want):
        raise AssertionError(f"{_repr.repr(op)}: got {_repr.repr(got)}, "
                             f"the model says {_repr.repr(want)}")


def _check_names_argument(exc: WebstoreError, kind: str) -> None:
    """The error names the argument (key, keys[i], items[i], prefix) or where in the value."""
    text = str(exc)
    if isinstance(exc, UnsupportedValue):
        assert "value" in text and (exc.path or exc.type_name), text
    elif isinstance(exc, InvalidKey):
        assert text.startswith(("key", "keys[", "items[")), text
    elif isinstance(exc, InvalidArgument):
        assert text.startswith(("items", "prefix", "keys")), text
