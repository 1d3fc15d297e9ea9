"""An open-loop HTTP load generator at a fixed rate (like wrk2), in one asyncio process.

Request ``i`` is *due* at ``start + i / rate`` whatever happened to the earlier ones: the
schedule never waits for the server (open loop). A free keep-alive connection takes the
next due request; when none is free, the request waits in the queue, and that wait counts
in its latency, which runs from the moment it was due to the last byte of the response.
A closed-loop client (each connection waits for its answer, then sends again) would
instead slow down with the server and hide the queueing (coordinated omission).

Requests are raw HTTP/1.1 bytes over asyncio streams (uvloop when installed), so the
client spends a few tens of microseconds per request and leaves the cores to the server.

    from bench.loadgen import run
    result = run("127.0.0.1", 8000, requests, rate=2000, duration=10)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

Request = Callable[[int], bytes]  # request number -> the request's bytes


@dataclass(frozen=True)
class Result:
    """Latencies (ms, from the due time) and what came back."""

    rate: int
    sent: int
    seconds: float  # from the first measured request's due time to the last answer
    p50: float
    p90: float
    p99: float
    max: float
    statuses: dict[int, int]
    errors: int

    @property
    def achieved(self) -> float:
        return self.sent / self.seconds

    def line(self) -> str:
        other = {k: v for k, v in self.statuses.items() if not 200 <= k < 300}
        return (f"{self.achieved:7.0f} req/s  p50 {self.p50:7.2f}  p90 {self.p90:7.2f}  "
                f"p99 {self.p99:7.2f}  max {self.max:7.1f} ms"
                + (f"  non-2xx {other}" if other else "")
                + (f"  errors {self.errors}" if self.errors else ""))


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """One HTTP/1.1 keep-alive request."""
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", *(f"{k}: {v}" for k, v in headers.items())]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    if length:
        await reader.readexactly(length)
    return status


async def _run(host: str, port: int, make: Request, rate: int, duration: float,
               connections: int, warmup: float) -> Result:
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    measuring_from = 0.0
    finished = 0.0

    async def connection() -> None:
        nonlocal errors, finished
        reader, writer = await asyncio.open_connection(host, port)
        while (item := await queue.get()) is not None:
            number, due = item
            try:
                status = await _exchange(reader, writer, make(number))
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            if due >= measuring_from:
                finished = time.perf_counter()
                latencies.append(finished - due)
                statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(0.2)  # connections open
    start = time.perf_counter()
    measuring_from = start + warmup
    total = int(rate * (warmup + duration))
    interval = 1.0 / rate
    sent = 0
    while sent < total:
        now = time.perf_counter()
        due_count = min(total, int((now - start) / interval) + 1)
        while sent < due_count:
            queue.put_nowait((sent, start + sent * interval))
            sent += 1
        await asyncio.sleep(max(0.0, start + sent * interval - time.perf_counter()))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    latencies.sort()
    ms = [x * 1000 for x in latencies]

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(p * len(ms)))] if ms else float("nan")

    return Result(rate=rate, sent=len(ms), seconds=max(finished - measuring_from, 1e-9), p50=pct(0.50), p90=pct(0.90),
                  p99=pct(0.99), max=ms[-1] if ms else float("nan"), statuses=statuses,
                  errors=errors)


def run(host: str, port: int, make: Request, rate: int, duration: float = 10,
        connections: int = 64, warmup: float = 2.0) -> Result:
    """Send ``make(i)`` at ``rate`` requests a second for ``warmup + duration`` seconds;
    latencies of the requests due after the warm-up."""
    try:
        import uvloop

        return uvloop.run(_run(host, port, make, rate, duration, connections, warmup))
    except ImportError:
        return asyncio.run(_run(host, port, make, rate, duration, connections, warmup))
