"""Ports in tests: every server a test starts listens on a free port, and the suite holds the
default API port for its whole run (the autouse fixture in ``tests/conftest.py``), so a test that
starts a server without choosing a free port fails at once instead of passing only where 8000
happens to be free."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

DEFAULT_PORT = 8000  # Settings.port's default


@contextmanager
def held(port: int) -> Iterator[None]:
    """Listens on 127.0.0.1:port (and [::1]:port where there is IPv6) until the block ends.
    A port another program already holds stays held by it: the guard is met either way."""
    with ExitStack() as stack:
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            try:
                listener = stack.enter_context(socket.socket(family, socket.SOCK_STREAM))
                listener.bind((host, port))
                listener.listen(1)
            except OSError as e:
                if e.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    raise
        yield


def free_port() -> int:
    """A port that is free now; the OS picks it when we bind to port 0."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
