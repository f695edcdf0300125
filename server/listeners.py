"""A listening socket per uvicorn worker, so the kernel spreads connections evenly.

Uvicorn's workers all accept from one shared socket. Whichever worker is waiting when
a connection arrives takes it, and with keep-alive clients (kiosks, a load balancer's
pool) that first choice lasts: 32 connections split 28/4, 30/2, 27/5 between two
workers, so one worker was saturated while the other idled.

With ``SO_REUSEPORT`` (Linux) each worker listens on a socket of its own, bound to the
same address, and the kernel hashes each new connection to one of them: an even
share. The supervisor binds the address first, without listening on it, so that a
port already in use still fails at start-up; it never accepts a connection itself.
"""

from __future__ import annotations

import socket
from typing import Any

HAS_REUSE_PORT = hasattr(socket, "SO_REUSEPORT")


def _bound(family: socket.AddressFamily, address: Any) -> socket.socket:
    sock = ReusePortListener(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


class ReusePortListener(socket.socket):
    """A bound ``SO_REUSEPORT`` socket that each worker receives as a fresh one of its own.

    Uvicorn hands its sockets to the worker processes by pickling them. Pickled, a plain
    socket becomes a duplicate of the same socket (one queue for all workers); this
    one is rebuilt in the worker as a new socket bound to the same address.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_bound, (self.family, self.getsockname()))


def reuse_port_listener(host: str, port: int) -> socket.socket:
    """The supervisor's socket: bound to ``host:port`` (raising if it is taken), not listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return _bound(family, (host, port))
