"""Start the tests' Git server (``tests/gitserver.py``) for a Node test; stop it on stdin EOF.

Usage: ``python tests/js/gitserver_cli.py NAME[:private][:sha1] ...`` makes one fresh bare repo
per argument (SHA-256 unless ``:sha1``; ``:private`` puts it behind Basic auth), then prints one
JSON line ``{base, username, password, repos: {NAME: {url, path}}}`` and waits until its stdin
closes (the Node test ends, or dies), then stops lighttpd and removes its directory.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/gitserver.py

from gitserver import GitServer


def main(specs: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="webstore-gitserver-") as root:
        server = GitServer(Path(root))
        server.start()
        try:
            repos = {}
            for spec in specs:
                name, *flags = spec.split(":")
                private = "private" in flags
                fmt = "sha1" if "sha1" in flags else "sha256"
                path = server.make_repo(name, private=private, object_format=fmt)
                repos[name] = {"url": server.url(name, private=private), "path": str(path)}
            print(json.dumps({"base": server.base_url, "username": server.username,
                              "password": server.password, "repos": repos}), flush=True)
            sys.stdin.read()  # until EOF
        finally:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
