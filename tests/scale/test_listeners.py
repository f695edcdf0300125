"""Connections are shared out over the workers, each listening on a socket of its own."""

from __future__ import annotations

import os
import pickle
import socket
import time
from collections import Counter
from pathlib import Path

import pytest

from server.listeners import reuse_port_listener
from tests.support.databases import backend
from tests.support.live import live_kaiku
from tests.support.processes import process_table

# No database fixture (the server makes its own), so mark it: it runs on both backends.
pytestmark = pytest.mark.db
CONNECTIONS = 32
ESTABLISHED, LISTENING = "01", "0A"


def _workers(pid: int) -> list[int]:
    """The worker processes uvicorn spawned (not its resource tracker)."""
    return [
        child
        for child, (parent, command, _) in process_table().items()
        if parent == pid and "spawn_main" in command
    ]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _sockets_on(port: int, state: str) -> set[str]:
    """Inodes of TCP sockets on local ``port`` in ``state`` (01 established, 0A listening)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def _wait_until_each_listens(port: int, workers: list[int]) -> None:
    """The server is ready once one worker is; the other may still be starting up."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listening = _sockets_on(port, LISTENING)
        if all(_socket_inodes(pid) & listening for pid in workers):
            return
        time.sleep(0.1)


def test_keep_alive_connections_are_spread_over_the_workers() -> None:
    """With one shared socket, 32 connections split 28/4 or 30/2 between two workers under
    load; with a listener each, the kernel hashes them over both (fewer than 4 of 32 on
    one worker has a probability of about 3 in a million)."""
    with live_kaiku(backend(), workers=2) as live:
        workers = _workers(live.pid)
        _wait_until_each_listens(live.port, workers)
        clients = [socket.create_connection(("127.0.0.1", live.port)) for _ in range(CONNECTIONS)]
        try:
            for client in clients:  # a request on each: served, so accepted by a worker
                client.sendall(b"GET /healthz HTTP/1.1\r\nHost: kaiku\r\n\r\n")
                assert client.recv(4096).startswith(b"HTTP/1.1 200")
            served = _sockets_on(live.port, ESTABLISHED)
            per_worker = Counter({pid: len(_socket_inodes(pid) & served) for pid in workers})
        finally:
            for client in clients:
                client.close()
    assert sum(per_worker.values()) == CONNECTIONS, per_worker
    assert len(workers) == 2
    assert min(per_worker.values()) >= 4, per_worker


def test_a_worker_gets_a_listener_of_its_own_on_the_same_address() -> None:
    listener = reuse_port_listener("127.0.0.1", 0)
    try:
        address = listener.getsockname()
        # What uvicorn does to hand the socket to a worker process:
        copy = pickle.loads(pickle.dumps(listener))
        try:
            assert copy.getsockname() == address
            assert copy.fileno() != listener.fileno()
            assert copy.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            copy.listen()
            with socket.create_connection(address, timeout=5):
                accepted, _ = copy.accept()
                accepted.close()
        finally:
            copy.close()
    finally:
        listener.close()


def test_a_port_in_use_fails_at_start_up() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            reuse_port_listener("127.0.0.1", taken.getsockname()[1])
