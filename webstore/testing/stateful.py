"""Hypothesis state machine: a backend driven through the Store API against a plain dict.

Operations are plain data (``("set", key, value)`` ...) so the same programs run two ways:

* :class:`StoreStateMachine`, a ``RuleBasedStateMachine`` stepping a store synchronously
  (CPython backends never suspend), with Hypothesis shrinking failures;
* :func:`run_stateful`, which lets Hypothesis generate whole programs synchronously and then
  replays them with ``await`` — the only way to reach IndexedDB on engines without JS
  Promise Integration (WebKit, Node 20). A failing program is shrunk by deleting operations.

Hypothesis is imported lazily: the checks in :mod:`webstore.testing.store` do not need it.
"""

from __future__ import annotations

from typing import Any

from webstore.errors import KeyNotFound
from webstore.kv.store import Store
from webstore.testing._runner import StoreFactory, drive
from webstore.testing._values import same

__all__ = ["Replayer", "StoreStateMachine", "operations", "programs", "run_stateful"]

Op = tuple[Any, ...]
_STALE = "\x00 a value no generated program stores"
_KEYS = ["a", "b", "a/b", "a/c", "ab", "é", "\U0001f600", "k:1", "~x"]


class Replayer:
    """Applies operations to a store and to a dict model, asserting they agree."""

    def __init__(self, factory: StoreFactory, name: str) -> None:
        self.factory = factory
        self.name = name
        self.model: dict[str, Any] = {}
        self.store: Store | None = None

    async def start(self) -> None:
        """Open the store empty."""
        self.store = await self.factory(self.name)
        await self.store.clear()

    async def close(self) -> None:
        """Check everything one last time, then close."""
        if self.store is not None:
            await self.verify()
            await self.store.close()

    async def verify(self) -> None:
        """The whole store equals the model."""
        assert self.store is not None
        got = await self.store.items()
        want = sorted(self.model.items())
        if len(got) != len(want) or not all(
            gk == wk and same(gv, wv) for (gk, gv), (wk, wv) in zip(got, want, strict=True)
        ):
            raise AssertionError(f"store holds {got!r}, model holds {want!r}")

    async def apply(self, op: Op) -> None:
        """Run one operation on both sides and compare what they return."""
        store, model = self.store, self.model
        assert store is not None
        kind = op[0]
        if kind == "set":
            await store.set(op[1], op[2])
            model[op[1]] = op[2]
        elif kind == "set_many":
            await store.set_many(op[1])
            model.update(op[1])
        elif kind == "delete":
            await store.delete(op[1])
            model.pop(op[1], None)
        elif kind == "delete_many":
            await store.delete_many(op[1])
            for k in op[1]:
                model.pop(k, None)
        elif kind == "get":
            _expect(await store.get(op[1], "<missing>"), model.get(op[1], "<missing>"), op)
            await self._require(op[1])
        elif kind == "get_many":
            _expect(await store.get_many(op[1]), [model.get(k) for k in op[1]], op)
        elif kind == "has":
            _expect(await store.has(op[1]), op[1] in model, op)
        elif kind == "keys":
            _expect(await store.keys(op[1]), sorted(k for k in model if k.startswith(op[1])), op)
        elif kind == "clear":
            await store.clear()
            model.clear()
        elif kind == "reopen":
            await store.close()
            self.store = await self.factory(self.name)
            await self.verify()
        elif kind == "cas":
            _, key, expect_current, new = op
            expected = model.get(key) if expect_current else _STALE
            done = await store.set_if_equals(key, expected, new)
            # ``None`` means "absent": a key holding a stored None never matches it.
            should = expect_current and (expected is not None or key not in model)
            _expect(done, should, op)
            if done:
                if new is None:
                    model.pop(key, None)
                else:
                    model[key] = new
        else:
            raise ValueError(f"unknown operation {kind!r}")

    async def _require(self, key: str) -> None:
        assert self.store is not None
        try:
            value = await self.store.require(key)
        except KeyNotFound:
            _expect(False, key in self.model, ("require", key))
        else:
            _expect(value, self.model[key], ("require", key))


def _expect(got: Any, want: Any, op: Op) -> None:
    if not same(got, want):
        raise AssertionError(f"{op[0]}: store returned {got!r}, model says {want!r} ({op!r})")


async def replay(factory: StoreFactory, program: list[Op], name: str = "stateful") -> None:
    """Run ``program`` on a fresh store named ``name``; raises AssertionError on divergence."""
    replayer = Replayer(factory, name)
    await replayer.start()
    try:
        for op in program:
            await replayer.apply(op)
    finally:
        await replayer.close()


# -- strategies (Hypothesis imported on first use) -------------------------------------------


def _values() -> Any:
    import array

    from hypothesis import strategies as st

    from webstore.kv.typed import TypedArray

    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
        st.binary(max_size=64),
    )
    typed = st.one_of(
        st.lists(st.floats(width=64), max_size=20).map(lambda xs: array.array("d", xs)),
        st.lists(st.integers(-(2**31), 2**31 - 1), max_size=20).map(
            lambda xs: array.array("i", xs)),
        st.lists(st.integers(0, 255), max_size=20).map(
            lambda xs: TypedArray.from_values("Uint8ClampedArray", xs)),
        st.lists(st.integers(-(2**63), 2**63 - 1), max_size=8).map(
            lambda xs: TypedArray.from_values("BigInt64Array", xs)),
    )
    large = st.builds(lambda n, b: bytes([b]) * n, st.integers(1000, 200_000),
                      st.integers(0, 255))
    nested = st.recursive(
        scalars | typed,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                   max_size=4),
        max_leaves=12,
    )
    return st.one_of(nested, large)


def _keys() -> Any:
    from hypothesis import strategies as st

    # Mostly a small pool, so operations hit the same keys; sometimes any text.
    pool = st.sampled_from(_KEYS)
    return st.one_of(pool, pool, pool, st.text(min_size=1, max_size=12))


def operations() -> Any:
    """Strategy for one operation."""
    from hypothesis import strategies as st

    keys, values = _keys(), _values()
    return st.one_of(
        st.tuples(st.just("set"), keys, values),
        st.tuples(st.just("set_many"), st.lists(st.tuples(keys, values), max_size=6)),
        st.tuples(st.just("delete"), keys),
        st.tuples(st.just("delete_many"), st.lists(keys, max_size=6)),
        st.tuples(st.just("get"), keys),
        st.tuples(st.just("get_many"), st.lists(keys, max_size=6)),
        st.tuples(st.just("has"), keys),
        st.tuples(st.just("keys"), st.sampled_from(["", "a", "a/", "k:", "\U0001f600"])),
        st.tuples(st.just("clear")),
        st.tuples(st.just("reopen")),
        st.tuples(st.just("cas"), keys, st.booleans(), st.one_of(st.none(), st.text(max_size=8))),
    )


def programs(max_ops: int = 25) -> Any:
    """Strategy for a whole program: a list of operations."""
    from hypothesis import strategies as st

    # Draw the length first: plain ``st.lists`` averages ~4 operations, too few to reach
    # interesting states (set, reopen, delete, read back ...).
    ops = operations()
    return st.integers(1, max_ops).flatmap(lambda n: st.lists(ops, min_size=n, max_size=n))


async def _shrink(factory: StoreFactory, program: list[Op], name: str) -> list[Op]:
    """Greedily drop operations while the program still fails."""
    i = 0
    while i < len(program):
        candidate = program[:i] + program[i + 1:]
        try:
            await replay(factory, candidate, name)
        except Exception:
            program = candidate
        else:
            i += 1
    return program


async def run_stateful(
    factory: StoreFactory, examples: int = 100, seed: int | None = 0, max_ops: int = 25,
    name: str = "stateful",
) -> dict[str, Any]:
    """Generate ``examples`` programs with Hypothesis, replay each with ``await``.

    Returns ``{"examples", "operations", "ok", "error", "program"}``; ``program`` is the
    shrunk failing program (as ``repr``) when ``ok`` is false.
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    collected: list[list[Op]] = []

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(programs(max_ops))
    def collect(program: list[Op]) -> None:
        collected.append(program)

    if seed is not None:
        collect = hypothesis_seed(seed)(collect)
    collect()
    total = 0
    for program in collected:
        total += len(program)
        try:
            await replay(factory, program, name)
        except Exception as exc:
            small = await _shrink(factory, program, name)
            return {"examples": len(collected), "operations": total, "ok": False,
                    "error": f"{type(exc).__name__}: {exc}", "program": repr(small)}
    return {"examples": len(collected), "operations": total, "ok": True, "error": None,
            "program": None}


def _machine_base() -> Any:
    from hypothesis.stateful import RuleBasedStateMachine

    return RuleBasedStateMachine


def StoreStateMachine(factory: StoreFactory, name: str = "machine") -> Any:
    """Build a ``RuleBasedStateMachine`` class driving ``factory``'s stores synchronously.

    Use as ``TestMemory = StoreStateMachine(factory).TestCase`` in a pytest module.
    """
    from hypothesis.stateful import initialize, invariant, precondition, rule

    class Machine(_machine_base()):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.replayer = Replayer(factory, name)
            self.steps = 0

        @initialize()
        def open(self) -> None:
            drive(self.replayer.start())

        @rule(op=operations())
        def step(self, op: Op) -> None:
            self.steps += 1
            drive(self.replayer.apply(op))

        @precondition(lambda self: self.steps % 5 == 0)
        @invariant()
        def matches_model(self) -> None:
            drive(self.replayer.verify())

        def teardown(self) -> None:
            drive(self.replayer.close())

    Machine.__name__ = Machine.__qualname__ = "StoreStateMachine"
    return Machine
