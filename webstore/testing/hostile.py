"""Hostile and odd input for the key-value API: Hypothesis strategies and the expected outcome.

Every generated operation must either round-trip faithfully or fail with the webstore error
the API documents, naming the argument, and leave the store equal to a plain-dict model:

* keys from every Unicode general category (lone surrogates included), path and namespace
  separators, NUL, the length limit and one past it, and non-``str`` keys;
* values: every scalar edge (64-bit int bounds and beyond, NaN with payloads, ``-0.0``), text
  from every category, bytes up to a size you choose, nesting at :data:`~webstore.kv.codec.
  MAX_DEPTH` and past it, cycles, subclasses, and unsupported types (sets, complex, objects).

:func:`expect_value` and :func:`expect_key` are the oracle: an independent reading of the
documented rules in :mod:`webstore.kv.codec` and :func:`webstore.kv.store.validate_key`.
:class:`HostileReplayer` applies operations with ``await`` (so it runs in Pyodide too);
:func:`programs` generates them. Hypothesis is imported only when a strategy is built.
"""

from __future__ import annotations

import enum
import reprlib
import struct
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from webstore.errors import (
    InvalidArgument,
    InvalidKey,
    KeyNotFound,
    UnsupportedValue,
    WebstoreError,
)
from webstore.kv import codec
from webstore.kv.store import MAX_KEY_LENGTH, Store, namespace_prefix
from webstore.testing._values import same

__all__ = [
    "CATEGORIES",
    "SEPARATORS",
    "BadValue",
    "Deep",
    "HostileReplayer",
    "cyclic_values",
    "deep_values",
    "expect_key",
    "expect_value",
    "hostile_keys",
    "hostile_text",
    "hostile_values",
    "valid_text",
    "operations",
    "programs",
]

#: Every Unicode general category Hypothesis knows, including surrogates (Cs).
CATEGORIES = ("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd",
              "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc",
              "Cf", "Cs", "Co", "Cn")
#: Characters with a meaning somewhere in the stack: paths, namespaces, ref names, SQL, JS.
SEPARATORS = ("/", ":", "\x00", "~", "\\", ".", "..", " ", "\n", "\r", "\t", "%", "*", "?",
              "[", "'", '"', "\u2028", "\ufeff", "\uffff", "\U0010ffff", "\x7f", "1:", "0:",
              "~v", "1:a:", "\U0001f600", "e\u0301", "\u0130", "\ud800", "\udfff")
_MISSING = object()  # what ``get`` returns for a missing key in these checks
_NO_CHECK = object()  # the call's result is not compared
_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother = 4, 60, 60


class BadValue:
    """An instance of a user class: never storable."""

    def __repr__(self) -> str:
        return "BadValue()"


class _Color(enum.IntEnum):
    RED = 1


class _Str(str):
    __slots__ = ()


class _Float(float):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


class _List(list):  # type: ignore[type-arg]
    pass


# -- the oracle -------------------------------------------------------------------------------


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def expect_key(key: object) -> type[WebstoreError] | None:
    """The error a key must raise (``None``: it is valid)."""
    if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH or not _utf8(key):
        return InvalidKey
    return None


def expect_value(value: Any) -> tuple[bool, Any]:
    """``(True, what get returns)`` for a storable value, ``(False, None)`` otherwise."""
    try:
        return True, _normal(value, 0, set())
    except _Unstorable:
        return False, None


class _Unstorable(Exception):
    pass


def _normal(v: Any, depth: int, active: set[int]) -> Any:
    t = type(v)
    if t is str:
        if not _utf8(v):
            raise _Unstorable
        return v
    if t in (bytes, bool, float, type(None)):
        return v
    if t is int:
        if not -(2**63) <= v < 2**64:
            raise _Unstorable
        return v
    if depth >= codec.MAX_DEPTH:  # documented: nesting deeper than MAX_DEPTH is refused
        raise _Unstorable
    if t in (dict, list, tuple):
        if id(v) in active:
            raise _Unstorable
        active.add(id(v))
        try:
            if t is dict:
                out = {}
                for k, x in v.items():
                    if not isinstance(k, str) or not _utf8(k):
                        raise _Unstorable
                    out[str(k)] = _normal(x, depth + 1, active)
                return out
            items = [_normal(x, depth + 1, active) for x in v]
            return tuple(items) if t is tuple else items
        finally:
            active.discard(id(v))
    if t is bytearray:
        return bytearray(v)
    bases: tuple[type[Any], ...] = (int, float, str, bytes, dict, list)
    for base in bases:  # subclasses come back as the base
        if isinstance(v, base):
            return _normal(base(v), depth, active)
    raise _Unstorable


# -- strategies (Hypothesis imported on first use) ---------------------------------------------


def hostile_text(min_size: int = 0, max_size: int = 12) -> Any:
    """Text drawing each character from one random Unicode category, or a separator."""
    return _text(CATEGORIES, SEPARATORS, min_size, max_size)


def valid_text(min_size: int = 0, max_size: int = 12) -> Any:
    """Like :func:`hostile_text` without lone surrogates: always storable text."""
    return _text([c for c in CATEGORIES if c != "Cs"],
                 [s for s in SEPARATORS if _utf8(s)], min_size, max_size)


def _text(categories: Sequence[str], separators: Sequence[str], min_size: int,
          max_size: int) -> Any:
    from hypothesis import strategies as st

    by_category = st.one_of(*(st.characters(categories=[c])  # type: ignore[list-item]
                              for c in categories))
    pieces = st.one_of(by_category, st.sampled_from(separators))
    return st.lists(pieces, min_size=min_size, max_size=max_size).map("".join)


def hostile_keys() -> Any:
    """Keys: hostile text, the length limit and one past it, empty, and non-``str`` keys."""
    from hypothesis import strategies as st

    limit = MAX_KEY_LENGTH
    long_keys = st.sampled_from([
        "k" * limit, "k" * (limit + 1), "\U0001f600" * limit, "\U0001f600" * (limit + 1),
        "é" * limit, "/" * limit, ":" * (limit - 1) + "\ud800",
    ])
    odd = st.one_of(st.binary(max_size=4), st.integers(), st.none(), st.floats(),
                    st.tuples(st.text(max_size=2)), st.builds(_Str, st.text(max_size=4)),
                    st.just(""))
    pool = st.sampled_from(["a", "a/b", "a:b", "1:a:b", "\x00", "~x", "\U0001f600"])
    return st.one_of(pool, pool, valid_text(1, 10), valid_text(1, 10), hostile_text(1, 10),
                     long_keys, odd)


def _nest(depth: int, kinds: str) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        kind = kinds[i % len(kinds)]
        value = [value] if kind == "l" else (value,) if kind == "t" else {"k": value}
    return value


class Deep:
    """A deeply nested value with a short ``repr``, so failing examples stay printable.

    :meth:`HostileReplayer.apply` passes ``value`` (the real nested structure) to the store.
    """

    def __init__(self, depth: int, kinds: str) -> None:
        self.depth, self.kinds = depth, kinds
        self.value = _nest(depth, kinds)

    def __repr__(self) -> str:
        return f"Deep({self.depth}, {self.kinds!r})"


_VERY_DEEP: list[Deep] = []


def deep_values() -> Any:
    """Containers nested ``MAX_DEPTH - 2`` to ``MAX_DEPTH + 2`` deep, and 10,000 deep."""
    from hypothesis import strategies as st

    if not _VERY_DEEP:  # built once: a 10,000-deep value takes a while to build and free
        _VERY_DEEP.extend(Deep(10_000, kinds) for kinds in ("l", "d", "t", "ltd"))
    depths = st.integers(codec.MAX_DEPTH - 2, codec.MAX_DEPTH + 2)
    kinds = st.sampled_from(["l", "t", "d", "lt", "td", "ltd"])
    return st.one_of(st.builds(Deep, depths, kinds), st.sampled_from(_VERY_DEEP))


def cyclic_values() -> Any:
    """Structures that contain themselves, directly or through other containers."""
    from hypothesis import strategies as st

    def self_list() -> Any:
        x: list[Any] = [1]
        x.append(x)
        return x

    def self_dict() -> Any:
        d: dict[str, Any] = {"a": {"b": []}}
        d["a"]["b"].append(d)
        return d

    def via_tuple() -> Any:
        inner: list[Any] = []
        t = (inner,)
        inner.append(t)
        return {"t": t}

    def shared_not_cyclic() -> Any:  # the same list twice is *not* a cycle: storable
        x = [1, 2]
        return [x, x, {"y": x}]

    return st.sampled_from([self_list, self_dict, via_tuple, shared_not_cyclic]).map(
        lambda f: f())


def _nan(bits: int) -> float:
    value: float = struct.unpack("<d", struct.pack("<Q", bits))[0]
    return value


def hostile_values(max_bytes: int = 4096) -> Any:
    """Values at every edge the codec documents, storable or not."""
    from hypothesis import strategies as st

    ints = st.one_of(st.integers(-(2**63), 2**64 - 1),
                     st.sampled_from([-(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 2**63, 10**40]))
    floats = st.one_of(st.floats(), st.sampled_from([
        -0.0, float("inf"), float("-inf"), _nan(0x7FF8000000000001), _nan(0xFFF0000000000001),
        5e-324, 1.7976931348623157e308]))
    scalars = st.one_of(st.none(), st.booleans(), ints, floats, hostile_text(0, 20),
                        st.binary(max_size=64), st.binary(max_size=64).map(bytearray))
    unsupported = st.sampled_from([
        {1, 2}, frozenset([1]), 1j, BadValue(), Decimal("1.5"), Fraction(1, 3), range(3),
        object, len, Ellipsis, NotImplemented,
    ])
    subclassed = st.one_of(st.just(_Color.RED), st.builds(_Str, hostile_text(0, 5)),
                           st.builds(_Float, st.floats()),
                           st.builds(_Dict, st.dictionaries(st.text(max_size=3), ints,
                                                            max_size=2)),
                           st.builds(_List, st.lists(ints, max_size=3)))
    large = st.builds(lambda n, b: bytes([b]) * n, st.integers(0, max_bytes),
                      st.integers(0, 255))
    dict_keys = st.one_of(hostile_text(0, 6), st.integers(0, 3), st.none(),
                          st.builds(_Str, st.text(max_size=3)))
    nested = st.recursive(
        st.one_of(scalars, unsupported, subclassed),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
            st.dictionaries(dict_keys, inner, max_size=4)),
        max_leaves=10,
    )
    return st.one_of(nested, nested, nested, large, deep_values(), cyclic_values())


def operations(max_bytes: int = 4096) -> Any:
    """One operation of the key-value API, as plain data."""
    from hypothesis import strategies as st

    keys, values = hostile_keys(), hostile_values(max_bytes)
    pair = st.one_of(st.tuples(keys, values), st.tuples(keys, values),
                     st.sampled_from([["list", 1], ("too", "many", "parts"), "str", None]))
    key_lists = st.lists(keys, max_size=5)
    return st.one_of(
        st.tuples(st.just("set"), keys, values),
        st.tuples(st.just("set"), keys, values),
        st.tuples(st.just("set_many"), st.lists(pair, max_size=5)),
        st.tuples(st.just("get"), keys),
        st.tuples(st.just("has"), keys),
        st.tuples(st.just("delete"), keys),
        st.tuples(st.just("get_many"), key_lists),
        st.tuples(st.just("delete_many"), key_lists),
        st.tuples(st.just("keys"), st.one_of(hostile_text(0, 3), st.integers(), st.none())),
        st.tuples(st.just("cas"), keys, st.booleans(), values),
    )


def programs(max_ops: int = 8, max_bytes: int = 4096) -> Any:
    """A whole program: 1 to ``max_ops`` operations on an empty store."""
    from hypothesis import strategies as st

    return st.lists(operations(max_bytes), min_size=1, max_size=max_ops)


# -- applying operations ----------------------------------------------------------------------


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
