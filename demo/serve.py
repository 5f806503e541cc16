#!/usr/bin/env python3
"""Serve the repository root statically on 127.0.0.1 and print the demo's URL (Ctrl-C stops).

Also starts the demo's Git remote: Git's own ``git http-backend`` behind lighttpd on another
127.0.0.1 port (``tests/gitserver.py``, the same server the test suites use), serving
``notes.git`` (SHA-256) from ``.demo-git/`` so pushed notes survive restarts. The page finds
the remote's URL at ``/demo/remote.json``; ``git clone <that URL>`` shows the same history.
``--no-git`` (or no lighttpd installed) serves the page alone.

Usage: ``python3 demo/serve.py [--port N] [--root DIR] [--no-git]`` (default: port 8000, or a
free port if it is taken; the repository root). ``--root`` serves another directory the same
way (the npm package test serves an app that installed webstore).
``demo/serve.sh`` installs and builds first, then runs this.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import signal
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # gitserver.py: one lighttpd set-up for tests and demo
REMOTE: dict[str, str] = {}


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the right types for .mjs/.wasm and no caching (edits show at once)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".whl": "application/zip",
                      ".json": "application/json"}

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        """``/demo/remote.json``: where the demo's Git remote is (``{}`` without one)."""
        if self.path.split("?")[0] != "/demo/remote.json":
            super().do_GET()
            return
        body = json.dumps(REMOTE).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the demo prints its URL, not every request."""


def start_git_remote(data: Path) -> object | None:
    """Start the Git remote (``data/repos/notes.git``); ``None`` without lighttpd."""
    if shutil.which("lighttpd") is None and not Path("/usr/sbin/lighttpd").exists():
        print("webstore demo: lighttpd is not installed, so no Git remote "
              "(apt-get install -y lighttpd)", flush=True)
        return None
    from gitserver import GitServer

    server = GitServer(data)
    server.start()
    if not server.path("notes").exists():
        server.make_repo("notes")
    REMOTE["url"] = server.url("notes")
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--no-git", action="store_true", help="serve without the Git remote")
    args = parser.parse_args()
    git_server = None if args.no_git else start_git_remote(ROOT / ".demo-git")
    handler = functools.partial(Handler, directory=str(args.root))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    except OSError:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    port = server.server_address[1]
    print(f"webstore demo: http://127.0.0.1:{port}/demo/  (Ctrl-C to stop)", flush=True)
    if REMOTE:
        print(f"webstore demo Git remote: {REMOTE['url']}  (git clone it)", flush=True)
    # `kill` (SIGTERM, as tests/js/run.sh stops it) ends like Ctrl-C: the Git remote stops too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if git_server is not None:
            git_server.stop()  # type: ignore[attr-defined]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
