"""A small HTTP/1.1 load generator on asyncio streams: keep-alive connections, closed or open loop.

httpx tops out at a few hundred requests per second on this hardware (its connection pool), well below what
the ingress takes, so the benchmarks speak HTTP over raw sockets: each connection sends a request, reads the
status line, headers and `Content-Length` body, and sends the next.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Request:
    """One POST to send."""

    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self, host: str) -> bytes:
        """The request's bytes on the wire."""
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(self.body)}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Results:
    """Latencies (seconds) and status codes of every request, and the wall time of the run."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    wall: float = 0.0

    def record(self, status: int, latency: float) -> None:
        """Count one answer."""
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    @property
    def rate(self) -> float:
        """Answers per second over the run."""
        return len(self.latencies) / self.wall if self.wall else 0.0


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: Request) -> int:
        """Send one request and return the status code once the whole answer has been read."""
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request.encode(f"{self.host}:{self.port}"))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        """Close the socket."""
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def closed_loop(host: str, port: int, make: Callable[[int], Request], total: int, concurrency: int) -> Results:
    """Send `total` requests as fast as the server answers, from `concurrency` connections."""
    results, counter = Results(), iter(range(total))

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            for number in counter:
                started = time.perf_counter()
                status = await connection.send(make(number))
                results.record(status, time.perf_counter() - started)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    results.wall = time.perf_counter() - started
    return results


async def open_loop(
    host: str, port: int, make: Callable[[int], Request], rate: float, duration: float, connections: int = 64
) -> tuple[Results, dict[int, float]]:
    """Send at a fixed `rate` for `duration` seconds; latency counts from the scheduled send time.

    Returns the results and, per request number, the wall-clock time it was scheduled for (for lag figures).
    """
    results, scheduled_at = Results(), {}
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(Connection(host, port))
    total, interval = int(rate * duration), 1.0 / rate
    start = time.perf_counter()
    wall_start = time.time()

    async def one(number: int, due: float) -> None:
        connection = await idle.get()
        try:
            status = await connection.send(make(number))
            results.record(status, time.perf_counter() - due)
        finally:
            idle.put_nowait(connection)

    tasks = []
    for number in range(total):
        due = start + number * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        scheduled_at[number] = wall_start + number * interval
        tasks.append(asyncio.create_task(one(number, due)))
    await asyncio.gather(*tasks)
    results.wall = time.perf_counter() - start
    while not idle.empty():
        await idle.get_nowait().close()
    return results, scheduled_at
