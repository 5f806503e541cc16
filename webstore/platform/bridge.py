"""Shared plumbing of the Pyodide backends: JS helper files, batches across the FFI, errors.

Batches cross the Python/JS boundary as one concatenated buffer plus a length per value
(``-1`` = missing): two copies for 10,000 values instead of 10,000 proxies.

:class:`_JsBackend` holds the operations both browser backends share: each is one call into
the backend's JS helper file (named by ``helper_file``), whose functions all take the
backend's :meth:`~_JsBackend._target` arguments first. A helper file is a JS function of
``shared`` (``shared.js``: errors, batch packing, Web Locks), so what both backends need is
written once. Helpers reject with plain ``Error`` objects carrying the DOM error's ``name``:
Pyodide 314 cannot turn every DOMException class into a Python exception (see ``shared.js``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from webstore.backends import Backend
from webstore.errors import StorageFull

__all__ = ["QUOTA_ERRORS", "error_name", "helper", "pack", "shared", "to_js", "unpack"]

#: JS error names meaning "out of space" (the second is old Firefox localStorage).
QUOTA_ERRORS = frozenset({"QuotaExceededError", "NS_ERROR_DOM_QUOTA_REACHED"})

_HELPERS: dict[str, Any] = {}


def _evaluate(file_name: str) -> Any:
    from importlib.resources import files

    from pyodide.code import run_js

    return run_js(files("webstore.platform").joinpath(file_name).read_text("utf-8"))


def shared() -> Any:
    """The object ``shared.js`` evaluates to (once per interpreter)."""
    found = _HELPERS.get("shared.js")
    if found is None:
        found = _HELPERS["shared.js"] = _evaluate("shared.js")
    return found


def helper(file_name: str) -> Any:
    """A backend helper file next to this module, called with ``shared`` (once per interpreter)."""
    found = _HELPERS.get(file_name)
    if found is None:
        found = _HELPERS[file_name] = _evaluate(file_name)(shared())
    return found


def to_js(value: Any) -> Any:
    """``pyodide.ffi.to_js``: bytes become a fresh ``Uint8Array``, lists become Arrays."""
    from pyodide.ffi import to_js as convert

    return convert(value)


def pack(values: list[bytes]) -> tuple[Any, Any]:
    """``(blob, lengths)`` as JS values for a list of byte strings."""
    blob = values[0] if len(values) == 1 else b"".join(values)
    return to_js(blob), to_js([len(v) for v in values])


def unpack(lengths: Any, blob: Any) -> list[bytes | None]:
    """Split a JS ``(Int32Array lengths, Uint8Array blob)`` pair back into values."""
    sizes: list[int] = lengths.to_memoryview().tolist()
    data: bytes = blob.to_bytes()
    if len(sizes) == 1:
        return [data if sizes[0] >= 0 else None]
    out: list[bytes | None] = []
    view = memoryview(data)
    at = 0
    for size in sizes:
        if size < 0:
            out.append(None)
        else:
            out.append(bytes(view[at:at + size]))
            at += size
    return out


def error_name(exc: BaseException) -> str:
    """The JS error's ``name`` (``"QuotaExceededError"`` ...), or ``""``."""
    name = getattr(exc, "name", "")
    return name if isinstance(name, str) else ""


class _JsBackend(Backend):
    """A backend whose every operation is one call into a JS helper file."""

    helper_file: ClassVar[str]
    """File next to this module evaluating to the helper function (``"idb.js"`` ...)."""
    location: str

    def _js(self) -> Any:
        return helper(self.helper_file)

    def _target(self) -> tuple[Any, ...]:
        """Arguments every helper function takes first (a connection, a storage ...)."""
        raise NotImplementedError

    def _translate(self, exc: Exception) -> Exception | None:
        """A webstore error for a JS failure, or ``None`` to let it propagate unchanged."""
        if error_name(exc) in QUOTA_ERRORS or "quota" in str(exc).lower():
            return StorageFull(
                f"{self.name} quota exceeded in {self.location!r}; nothing was written",
                backend=self.name,
            )
        return None

    async def _call(self, method: str, *args: Any) -> Any:
        """Run one helper operation (awaiting it if it returns a Promise); translate errors."""
        self._check_open()
        from pyodide.ffi import JsException

        try:
            result = getattr(self._js(), method)(*self._target(), *args)
            if hasattr(result, "then"):
                result = await result
        except JsException as exc:
            mapped = self._translate(exc)
            if mapped is None:
                raise
            raise mapped from exc
        return result

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        # docstring inherited
        self._check_open()
        if not keys:
            return []
        lengths, blob = await self._call("getMany", to_js(list(keys)))
        return unpack(lengths, blob)

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        # docstring inherited
        self._check_open()
        if not items:
            return
        last: dict[str, bytes] = {}
        for key, value in items:  # later pairs win; also validates types before writing
            last[key] = value if type(value) is bytes else bytes(value)
        blob, lengths = pack(list(last.values()))
        await self._call("setMany", to_js(list(last)), blob, lengths)

    async def delete_many(self, keys: Sequence[str]) -> None:
        # docstring inherited
        self._check_open()
        if keys:
            await self._call("deleteMany", to_js(list(keys)))

    async def keys(self, prefix: str = "") -> list[str]:
        # docstring inherited
        found: list[str] = (await self._call("keys", prefix)).to_py()
        return sorted(found)  # IndexedDB: UTF-16 order -> code-point order

    async def items(self, prefix: str = "") -> list[tuple[str, bytes]]:
        # docstring inherited
        keys, lengths, blob = await self._call("items", prefix)
        values = unpack(lengths, blob)
        pairs = [(k, v) for k, v in zip(keys.to_py(), values, strict=True) if v is not None]
        pairs.sort(key=lambda kv: kv[0])
        return pairs

    async def delete_prefix(self, prefix: str) -> None:
        # docstring inherited
        await self._call("deletePrefix", prefix)

    async def set_if_equals(self, key: str, expected: bytes | None, new: bytes | None) -> bool:
        # docstring inherited
        done = await self._call(
            "setIfEquals", key,
            None if expected is None else to_js(bytes(expected)),
            None if new is None else to_js(bytes(new)),
        )
        return bool(done)
