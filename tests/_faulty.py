"""Servers that misbehave on purpose, for the reliability and security tests.

`FaultyServer` is a raw asyncio HTTP/1.1 server on 127.0.0.1 running in its own thread, so
sync and async clients alike can talk to it. Each request is answered by a `Fault`: a script
of exact bytes, resets, closes, stalls and drips, chosen by a function of the request (so a
retry meets the same fault) or taken from a queue. The server records every request and how
many connections are open, which is how the tests count retries and spot leaked connections.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import ssl
import struct
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs

__all__ = [
    "MODES",
    "FaultyServer",
    "Received",
    "by_stream",
    "call",
    "closed_port",
    "openai_at",
    "openai_body",
    "openai_sse",
]


@attrs.define
class Received:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


# A fault writes (or withholds) a response; it returns True to keep the connection for the next request.
Fault = Callable[[Received, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _bytes(body: bytes | str | dict[str, Any] | list[Any]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def respond(
    status: int, body: bytes | str | dict[str, Any] | list[Any] = b"", headers: dict[str, str] | None = None
) -> Fault:
    """A complete, well-formed response."""
    data = _bytes(body)
    h = {"content-type": "application/json" if not isinstance(body, (bytes, str)) else "text/plain"}
    h.update(headers or {})
    h["content-length"] = str(len(data))

    async def run(req: Received, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(_head(status, h) + data)
        await w.drain()
        return True

    return run


def stream(chunks: Iterable[bytes | str], *, end: str = "ok", interval: float = 0.0, status: int = 200) -> Fault:
    """A chunked event stream. end: `ok` (terminating chunk), `close` (FIN, no terminator),
    `reset` (RST), `stall` (keep the socket open and send nothing more)."""
    parts = [c.encode() if isinstance(c, str) else c for c in chunks]

    async def run(req: Received, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(_head(status, {"content-type": "text/event-stream", "transfer-encoding": "chunked"}))
        for p in parts:
            if interval:
                await asyncio.sleep(interval)
            w.write(f"{len(p):x}\r\n".encode() + p + b"\r\n")
            await w.drain()
        return await _finish(end, w, b"0\r\n\r\n")

    return run


def body_then(status: int, body: bytes, cut: int, *, end: str) -> Fault:
    """A content-length response cut after `cut` bytes, then `end` (close, reset or stall)."""

    async def run(req: Received, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(_head(status, {"content-type": "application/json", "content-length": str(len(body))}) + body[:cut])
        await w.drain()
        return await _finish(end, w, b"")

    return run


def drip(body: bytes, interval: float, status: int = 200) -> Fault:
    """A valid response sent one byte at a time: every read is fast, the whole is slow."""

    async def run(req: Received, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(_head(status, {"content-type": "application/json", "content-length": str(len(body))}))
        for i in range(len(body)):
            w.write(body[i : i + 1])
            await w.drain()
            await asyncio.sleep(interval)
        return True

    return run


def stall() -> Fault:
    """Read the request, answer nothing, keep the socket open."""

    async def run(req: Received, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        return await _finish("stall", w, b"")

    return run


def reset() -> Fault:
    """Read the request, then reset the connection before any response byte."""

    async def run(req: Received, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        return await _finish("reset", w, b"")

    return run


async def _finish(end: str, w: asyncio.StreamWriter, tail: bytes) -> bool:
    if end == "ok":
        w.write(tail)
        await w.drain()
        return True
    if end == "close":
        w.close()
        return False
    if end == "reset":
        sock = w.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        w.transport.abort()
        return False
    if end == "stall":
        await asyncio.sleep(3600)  # cancelled when the client goes away or the server stops
        return False
    raise ValueError(f"unknown end {end!r}")


class FaultyServer:
    """A misbehaving HTTP/1.1 server on 127.0.0.1, running in a background thread.

    `handler` is one fault for every request, or `handler(req) -> fault` picking one per
    request; faults `queue()`d first take precedence.
    """

    def __init__(
        self,
        handler: Fault | Callable[[Received], Fault] | None = None,
        host: str = "127.0.0.1",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.ssl_context = ssl_context
        if handler is not None and len(inspect.signature(handler).parameters) == 3:
            fault = handler
            handler = lambda req: fault  # noqa: E731
        self.handler: Callable[[Received], Fault] = handler or (  # type: ignore[assignment]
            lambda req: respond(404, {"error": {"message": "no fault scripted"}})
        )
        self.host = host
        self.requests: list[Received] = []
        self.open_connections = 0
        self.peak_connections = 0
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faulty-server", daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> FaultyServer:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, self.host, 0, backlog=2048, ssl=self.ssl_context)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{port}"

    def queue(self, *faults: Fault) -> None:
        with self._lock:
            self._queue.extend(faults)

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def connections_now(self) -> int:
        """Open connections, read on the server's own thread."""
        fut = asyncio.run_coroutine_threadsafe(self._connections(), self._loop)
        return fut.result(5)

    async def _connections(self) -> int:
        await asyncio.sleep(0)
        return self.open_connections

    async def _serve(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.open_connections += 1
        self.peak_connections = max(self.peak_connections, self.open_connections)
        try:
            while True:
                req = await _read_request(r)
                if req is None:
                    break
                with self._lock:
                    self.requests.append(req)
                    fault = self._queue.popleft() if self._queue else None
                if fault is None:
                    fault = self.handler(req)
                if not await fault(req, r, w):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, ssl.SSLError):
            pass
        finally:
            self.open_connections -= 1
            self._tasks.discard(task)
            if not w.is_closing():
                w.close()


async def _read_request(r: asyncio.StreamReader) -> Received | None:
    try:
        head = await r.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length") or 0)
    body = await r.readexactly(length) if length else b""
    return Received(method=method, path=path, headers=headers, body=body)


def closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def openai_body(text: str) -> dict[str, Any]:
    """A minimal, valid OpenAI chat completion answering `text`."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    data = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n"


def openai_sse(pieces: list[str], *, done: bool = True) -> list[str]:
    """An OpenAI chat stream of these text pieces: one SSE event per piece, then stop and [DONE]."""
    out = [_chunk({"role": "assistant", "content": ""})]
    out += [_chunk({"content": p}) for p in pieces]
    out.append(_chunk({}, "stop"))
    if done:
        out.append("data: [DONE]\n\n")
    return out


MODES = ("sync", "sync-stream", "async", "async-stream")


def call(
    mode: str,
    providers: dict[str, dict[str, Any]],
    model: str = "openai/gpt-4o-mini",
    sleeps: list[float] | None = None,
    **params: Any,
) -> str:
    """One chat call in `mode` (sync or async, plain or streamed); returns the full answer text.

    With `sleeps`, the client's retry waits are recorded there instead of slept.
    """
    import llmkit

    async def record(seconds: float) -> None:
        assert sleeps is not None
        sleeps.append(seconds)

    if mode.startswith("sync"):
        with llmkit.Client(providers=providers) as c:
            if sleeps is not None:
                c._sleep = sleeps.append
            if mode == "sync":
                return c.chat(model, "hi", **params).text
            with c.chat(model, "hi", stream=True, **params) as s:
                return s.get_final_response().text

    async def run() -> str:
        async with llmkit.AsyncClient(providers=providers) as c:
            if sleeps is not None:
                c._sleep = record
            if mode == "async":
                return str((await c.chat(model, "hi", **params)).text)
            s = await c.chat(model, "hi", stream=True, **params)
            async with s:
                return str((await s.get_final_response()).text)

    return asyncio.run(run())


def openai_at(url: str, **settings: Any) -> dict[str, dict[str, Any]]:
    """Client settings pointing the openai provider at a local server."""
    return {"openai": {"api_key": "sk-test-0123456789", "base_url": url + "/v1", **settings}}


def by_stream(plain: Fault, streamed: Fault) -> Callable[[Received], Fault]:
    """A handler answering plain and streamed requests with their own fault."""
    return lambda req: streamed if req.body and json.loads(req.body).get("stream") else plain
