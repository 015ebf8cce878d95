"""Transport: the connections of a run's session, made so that `Timeout` bounds a whole response.

Owns: `Deadline` (the end of one exchange: connect, headers and body), the watchdog thread that ends an exchange
still running at its deadline by shutting its socket down, and `TransportAdapter`, the `requests` adapter whose
connection pools make connections a deadline can reach. A socket timeout alone bounds each read, so a server that
sends a byte a second keeps it alive for ever (issue #12, finding 7); the watchdog does not care how the bytes
come. Must not: retry, interpret a response, or know the profile (the client does).

A deadline is attached to the thread that sends (`attach`), and a connection registers with it when a request is
written on it (`_Tracked.request`), so a connection kept alive from an earlier page is covered too.
"""
from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from typing import Any, Callable, Optional

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

_current = threading.local()


class Deadline:
    """The end of one exchange. `expire()` (the watchdog, at `at`) shuts down every connection the exchange wrote
    on; `finish()` (the client, when the body is read) says whether that happened first."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.at = clock() + seconds
        self._lock = threading.Lock()
        self._conns: list[Any] = []
        self.expired = False
        self.done = False

    def track(self, conn: Any) -> None:
        with self._lock:
            if not self.done:
                self._conns.append(conn)
            expired = self.expired
        if expired:
            _shut(conn)

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            conns = list(self._conns)
        for conn in conns:
            _shut(conn)

    def finish(self) -> bool:
        """The exchange is over; True when the deadline had passed (its connections were shut down)."""
        with self._lock:
            self.done = True
            self._conns.clear()
            return self.expired


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Watchdog:
    """One daemon thread for the process: expires deadlines in time order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._thread: Optional[threading.Thread] = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            # the thread is woken only when it must wake earlier than it will: a deadline after the first one it
            # waits for is seen when that one is due (waking it for every request cost each page a thread switch)
            sooner = not self._heap or deadline.at < self._heap[0][0]
            heapq.heappush(self._heap, (deadline.at, next(self._seq), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="rsd-deadlines", daemon=True)
                self._thread.start()
            if sooner:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            deadline.expire()


_WATCHDOG = _Watchdog()


class attach:
    """`with attach(deadline):` the requests this thread sends meanwhile are bounded by `deadline` (None: none)."""

    def __init__(self, deadline: Optional[Deadline]) -> None:
        self.deadline = deadline

    def __enter__(self) -> Optional[Deadline]:
        _current.deadline = self.deadline
        if self.deadline is not None:
            _WATCHDOG.watch(self.deadline)
        return self.deadline

    def __exit__(self, *exc: object) -> None:
        _current.deadline = None
        if self.deadline is not None:
            self.deadline.finish()


def _register(conn: Any) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.track(conn)


class _Tracked(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)
        super().request(*args, **kwargs)


class _TrackedTLS(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)
        super().request(*args, **kwargs)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Tracked


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedTLS


_POOLS = {"http": _Pool, "https": _TLSPool}


class TransportAdapter(HTTPAdapter):
    """The adapter of a run's session: `requests`' own, with connections a `Deadline` can shut down."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
