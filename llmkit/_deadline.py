"""A call's `total_timeout`, and reading a response body under it.

`total_timeout` is one deadline for the whole call: every attempt, every backoff wait and the
whole body. httpx's own timeouts are per phase and per read, so a server dripping a byte per
second would never trip them; the deadline clips each phase to the time left, and a watchdog
(sync) or a cancel scope (async) cuts a body that is still arriving. A streamed response
carries its `CallState` in its extensions, so `iter_chunks` / `aiter_chunks` can tell a cut
for the deadline from a broken connection.
"""

from __future__ import annotations

import asyncio
import builtins
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from ._errors import StreamError, TimeoutError
from ._http_errors import StreamTimeoutError

__all__ = ["DEADLINE_CODE", "STATE", "CallState", "Deadline", "aiter_chunks", "call_state", "iter_chunks"]

STATE = "llmkit_call"  # key of the CallState in a streamed response's extensions
DEADLINE_CODE = "total_timeout"  # code of a TimeoutError that spent the whole deadline: never retried


class Deadline:
    """The end of a call's `total_timeout` on the monotonic clock (never, if None)."""

    __slots__ = ("at", "total")

    def __init__(self, total: float | None) -> None:
        self.total = total
        self.at = None if total is None else time.monotonic() + total

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def clip(self, timeout: httpx.Timeout) -> httpx.Timeout:
        """Each phase's timeout, but never past the deadline."""
        left = self.remaining()
        if left is None:
            return timeout
        left = max(left, 0.001)

        def c(v: float | None) -> float:
            return left if v is None else min(v, left)

        return httpx.Timeout(
            connect=c(timeout.connect), read=c(timeout.read), write=c(timeout.write), pool=c(timeout.pool)
        )

    def error(self, provider: str, attempts: int) -> TimeoutError:
        return TimeoutError(
            f"{provider} call did not finish within total_timeout={self.total:g}s ({attempts} attempt(s)); "
            "raise total_timeout or lower max_tokens",
            provider=provider,
            code=DEADLINE_CODE,
        )


class CallState:
    """What a streamed response carries for its reader: the deadline and the watchdog's verdict."""

    __slots__ = ("deadline", "fired", "provider", "timer")

    def __init__(self, provider: str, deadline: Deadline) -> None:
        self.provider = provider
        self.deadline = deadline
        self.fired = False
        self.timer: threading.Timer | None = None

    def arm(self, response: httpx.Response) -> None:
        """Sync only: shut the socket when the deadline passes, waking a blocked read."""
        left = self.deadline.remaining()
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if left is None or not isinstance(sock, socket.socket):
            return

        def fire() -> None:
            self.fired = True
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain-socket method, also for TLS
            except OSError:
                pass

        self.timer = threading.Timer(max(left, 0.0), fire)
        self.timer.daemon = True
        self.timer.start()

    def disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def timed_out(self) -> bool:
        return self.fired or self.deadline.expired()


def call_state(resp: httpx.Response) -> CallState | None:
    st = resp.extensions.get(STATE)
    return st if isinstance(st, CallState) else None


def _stream_failure(resp: httpx.Response, provider: str, exc: Exception) -> StreamError:
    st = call_state(resp)
    if st is not None and st.timed_out():
        return StreamTimeoutError(
            f"stream from {provider} did not finish within total_timeout={st.deadline.total:g}s; "
            "the answer so far is incomplete",
            provider=provider,
        )
    if isinstance(exc, (httpx.TimeoutException, builtins.TimeoutError)):
        return StreamTimeoutError(
            f"stream from {provider} stalled: no data within the read timeout ({type(exc).__name__})", provider=provider
        )
    return StreamError(f"stream from {provider} broke: {type(exc).__name__}: {exc}", provider=provider)


def iter_chunks(resp: httpx.Response, provider: str) -> Iterator[bytes]:
    """The decoded body of a streamed response; a cut, stall or deadline is a typed StreamError."""
    try:
        yield from resp.iter_bytes()
    except httpx.HTTPError as exc:
        raise _stream_failure(resp, provider, exc) from exc
    st = call_state(resp)
    if st is not None and st.fired:  # the watchdog cut the socket at a message boundary
        raise _stream_failure(resp, provider, StreamError("deadline"))


async def aiter_chunks(resp: httpx.Response, provider: str) -> AsyncIterator[bytes]:
    """Async twin of `iter_chunks`; the deadline bounds every wait for the next chunk."""
    st = call_state(resp)
    it = resp.aiter_bytes().__aiter__()
    while True:
        left = st.deadline.remaining() if st is not None else None
        try:
            async with asyncio.timeout(None if left is None else max(left, 0.0)):
                chunk = await it.__anext__()
        except StopAsyncIteration:
            return
        except (httpx.HTTPError, builtins.TimeoutError) as exc:
            raise _stream_failure(resp, provider, exc) from exc
        yield chunk
