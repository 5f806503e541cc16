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

import struct
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from webstore.kv import codec
from webstore.kv.store import MAX_KEY_LENGTH
from webstore.testing._hostile_replay import HostileReplayer
from webstore.testing._oracle import (
    BadValue,
    Deep,
    _Color,
    _Dict,
    _Float,
    _List,
    _Str,
    _utf8,
    expect_key,
    expect_value,
)

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
