"""Forked writer processes and their reports, shared by the crash and concurrency tests."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field

from _writer import run_child


def nightly() -> bool:
    """Whether the long, nightly-style settings were asked for (``WEBSTORE_NIGHTLY=1``)."""
    return os.environ.get("WEBSTORE_NIGHTLY", "") not in ("", "0")


@dataclass
class Child:
    """A forked writer: its pid, the pipe it reports on, and the lines read so far."""

    pid: int
    reader: object
    go: int | None = None
    lines: list[str] = field(default_factory=list)

    def read_line(self) -> str | None:
        line = self.reader.readline()  # type: ignore[attr-defined]
        if not line:
            return None
        text = line.decode().rstrip("\n")
        self.lines.append(text)
        if text.startswith("E "):
            raise AssertionError(f"writer {self.pid} failed: {text[2:]}")
        return text

    def lines_until_eof(self) -> Iterator[str]:
        while (line := self.read_line()) is not None:
            yield line

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        return status

    def close(self) -> None:
        self.reader.close()  # type: ignore[attr-defined]
        if self.go is not None:
            os.close(self.go)


def fork_writer(kind: str, path: str, seed: int, writer: str = "w", count: int = -1,
                barrier: bool = False) -> Child:
    """Fork a child running ``_writer.LOOPS[kind]``; it reports on a pipe, never on stdout.

    Forking (rather than starting a new interpreter) keeps each of the hundreds of kills
    cheap; the child opens its own SQLite connection after the fork.
    """
    r, w = os.pipe()
    go_r, go_w = os.pipe() if barrier else (None, None)
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(r)
            if go_w is not None:
                os.close(go_w)
            code = run_child(kind, path, w, seed, writer, count, go_r)
        finally:
            os._exit(code)
    os.close(w)
    if go_r is not None:
        os.close(go_r)
    return Child(pid, os.fdopen(r, "rb"), go_w)
