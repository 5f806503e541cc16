"""A throw-away smart-HTTP Git server for tests: lighttpd + ``git http-backend`` on 127.0.0.1.

Layout under ``root``: ``repos/`` (``GIT_PROJECT_ROOT``), ``repos/private/`` behind Basic auth
(credentials made fresh per server, never written anywhere but ``root``), a CGI wrapper that
turns the ``Git-Protocol`` request header into ``GIT_PROTOCOL`` (lighttpd only exports it as
``HTTP_GIT_PROTOCOL``) and answers CORS preflights, and the lighttpd configuration. lighttpd
gets an already-listening socket (systemd socket activation), so the server is reachable the
moment ``start`` returns: no port race and no polling.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["GitServer", "git"]

_CGI = """#!/bin/sh
# lighttpd exports request headers as HTTP_*; git http-backend reads GIT_PROTOCOL (v2).
if [ "$REQUEST_METHOD" = OPTIONS ]; then
  printf 'Status: 204 No Content\\r\\nAccess-Control-Max-Age: 600\\r\\n\\r\\n'
  exit 0
fi
if [ -n "$HTTP_GIT_PROTOCOL" ]; then export GIT_PROTOCOL="$HTTP_GIT_PROTOCOL"; fi
exec git http-backend
"""

_CONF = """\
server.modules = ("mod_access", "mod_alias", "mod_redirect", "mod_setenv", "mod_auth",
                  "mod_authn_file", "mod_cgi")
server.document-root = "{root}/www"
server.bind = "127.0.0.1"
server.port = {port}
server.systemd-socket-activation = "enable"
server.errorlog = "{root}/error.log"
server.max-request-size = 262144
setenv.add-response-header = (
  "Access-Control-Allow-Origin" => "*",
  "Access-Control-Allow-Methods" => "GET, POST, OPTIONS",
  "Access-Control-Allow-Headers" => "Authorization, Content-Type, Git-Protocol",
  "Access-Control-Expose-Headers" => "Content-Type",
)
setenv.add-environment = (
  "GIT_PROJECT_ROOT" => "{root}/repos",
  "GIT_HTTP_EXPORT_ALL" => "1",
  "HOME" => "{root}",
  "GIT_CONFIG_NOSYSTEM" => "1",
)
alias.url = ( "/git" => "{root}/git-cgi.sh" )
# /same/x -> /git/x on this origin; /elsewhere/x -> the same server under another origin name.
url.redirect = ( "^/same/(.*)$" => "/git/$1",
                 "^/elsewhere/(.*)$" => "http://localhost:{port}/git/$1" )
$HTTP["url"] =~ "^/git" {{
  cgi.assign = ( "" => "" )
}}
auth.backend = "plain"
auth.backend.plain.userfile = "{root}/users"
$HTTP["url"] =~ "^/git/private/" {{
  $HTTP["request-method"] != "OPTIONS" {{
    auth.require = ( "" => ( "method" => "basic", "realm" => "git", "require" => "valid-user" ) )
  }}
}}
"""


def git(*args: str | Path, cwd: Path | None = None, input: bytes | None = None,
        check: bool = True, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[bytes]:
    """Run git with a fixed identity and no user or system configuration."""
    env = {**os.environ, **(env or {}), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b", "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(["git", *map(str, args)], cwd=cwd, input=input, env=env,
                          capture_output=True, check=False, timeout=120)
    if check and done.returncode:
        raise AssertionError(f"git {' '.join(map(str, args))} failed ({done.returncode}):\n"
                             f"{done.stderr.decode(errors='replace')}")
    return done


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM when the starting process dies (Linux PR_SET_PDEATHSIG).

    A test run or demo killed outright (no fixture teardown, no ``finally``) would otherwise
    leave its lighttpd running. Start servers from the main thread: the signal follows the
    thread that forked.
    """
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


# Looked up here, not in the forked child: there it is one call into libc, no loading.
_PRCTL: Callable[..., int] | None
try:
    _PRCTL = ctypes.CDLL(None).prctl
except (OSError, AttributeError):  # not Linux
    _PRCTL = None


class GitServer:
    """lighttpd serving bare SHA-256 repos under ``root/repos`` at ``base_url``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.username = "u" + secrets.token_hex(4)
        self.password = secrets.token_urlsafe(18)
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/git``."""
        return f"http://127.0.0.1:{self.port}/git"

    def url(self, name: str, *, private: bool = False, via: str = "git") -> str:
        """URL of the repo ``name`` (``name.git`` on disk), without credentials.

        ``via="same"`` or ``"elsewhere"`` gives a URL that redirects to it within this origin
        or to another origin.
        """
        return f"http://127.0.0.1:{self.port}/{via}/{'private/' if private else ''}{name}.git"

    def path(self, name: str, *, private: bool = False) -> Path:
        """Directory of a served repo."""
        return self.root / "repos" / ("private" if private else "") / f"{name}.git"

    def make_repo(self, name: str, *, private: bool = False,
                  object_format: str = "sha256") -> Path:
        """A fresh bare repo (``--object-format=sha256`` unless told) that accepts pushes."""
        path = self.path(name, private=private)
        git("init", "-q", "--bare", f"--object-format={object_format}", "-b", "main", path)
        git("-C", path, "config", "http.receivepack", "true")
        return path

    def start(self) -> None:
        """Write the configuration and start lighttpd on a socket that already listens."""
        lighttpd = shutil.which("lighttpd") or next(
            (p for p in ("/usr/sbin/lighttpd", "/sbin/lighttpd") if os.path.exists(p)), None)
        if lighttpd is None:
            raise RuntimeError("lighttpd is not installed: apt-get install -y lighttpd")
        (self.root / "repos" / "private").mkdir(parents=True, exist_ok=True)
        (self.root / "www").mkdir(exist_ok=True)
        cgi = self.root / "git-cgi.sh"
        cgi.write_text(_CGI)
        cgi.chmod(0o755)
        users = self.root / "users"
        users.write_text(f"{self.username}:{self.password}\n")
        users.chmod(0o600)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        conf = self.root / "lighttpd.conf"
        conf.write_text(_CONF.format(root=self.root, port=self.port))
        checked = subprocess.run([lighttpd, "-tt", "-f", str(conf)], capture_output=True,
                                 check=False)
        if checked.returncode:
            raise RuntimeError(f"lighttpd rejects its configuration:\n{checked.stderr!r}")
        fd = self._sock.fileno()  # bash, not sh: dash cannot redirect from fds above 9
        self._proc = subprocess.Popen(
            ["bash", "-c", f'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" -D -f "$1" 3<&{fd}',
             lighttpd, str(conf)],
            pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=(self.root / "lighttpd.stderr").open("wb"),
            preexec_fn=_die_with_parent)  # noqa: PLW1509 (one libc call before exec)

    def stop(self) -> None:
        """Stop lighttpd (this process's own child) and close the socket."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @classmethod
    @contextlib.contextmanager
    def running(cls, root: Path) -> Iterator[GitServer]:
        """A started server in ``root``, stopped on leaving (the tests' fixtures)."""
        server = cls(root)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    def log(self) -> str:
        """lighttpd's error log and stderr, for failure messages."""
        parts = [p.read_text(errors="replace") for p in
                 (self.root / "error.log", self.root / "lighttpd.stderr") if p.exists()]
        return "\n".join(parts)
