"""One NOMAD child process (``child.py``) and the parent's end of its pipe, for ``asktell``
and ``standalone``.

The child is started with ``subprocess`` running a script, not ``multiprocessing``: "spawn"
would re-import the user's ``__main__`` (re-running an unguarded Tune script), "fork" is
unsafe in the threaded Ray driver. A finalizer kills the child with the object.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import weakref
from multiprocessing.connection import Connection
from typing import Any

logger = logging.getLogger(__name__)

CHILD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")


def _kill(proc: subprocess.Popen | None, conn: Connection | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass
    if proc is not None and proc.poll() is None:
        proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kill that does not land
            logger.error("NOMAD child %s did not exit after SIGKILL", proc.pid)


class NomadChild:
    """One NOMAD child process and its connection (never pickled). Made without ``settings``,
    it waits for :meth:`start`, its interpreter up and PyNomad imported: a spare, so that a
    new NOMAD run does not wait for a process to start."""

    def __init__(self, settings: dict[str, Any] | None = None):
        parent_sock, child_sock = socket.socketpair()
        self.output = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-u", CHILD_SCRIPT, str(child_sock.fileno())],
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=self.output,
                stderr=subprocess.STDOUT,
                # own session: a Ctrl-C in the terminal reaches the driver only, which
                # then ends the child itself
                start_new_session=True,
            )
        finally:
            child_sock.close()
        self.conn = Connection(parent_sock.detach())
        self.messages = 0
        self._finalizer = weakref.finalize(self, _kill, self.proc, self.conn)
        if settings is not None:
            self.start(settings)

    def start(self, settings: dict[str, Any]) -> None:
        """Begin the NOMAD run of ``settings`` (``asktell._child_settings``)."""
        self.conn.send(("start", settings))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, n: int = 2000) -> str:
        """Last characters the child wrote (stdout and stderr), for error messages."""
        try:
            self.output.seek(0, os.SEEK_END)
            size = self.output.tell()
            self.output.seek(max(0, size - n))
            return self.output.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def receive(self, timeout: float):
        """The next message, None if none within ``timeout``; raises EOFError if the child died."""
        if not self.conn.poll(max(0.0, timeout)):
            if self.proc.poll() is not None and not self.conn.poll(0):
                raise EOFError(f"NOMAD child exited with code {self.proc.returncode}")
            return None
        message = self.conn.recv()
        self.messages += 1
        return message

    def send(self, message) -> None:
        self.conn.send(message)

    def close(self) -> None:
        self._finalizer()
        try:
            self.output.close()
        except OSError:
            pass
