"""A minimal, fast HTTP/1.1 keep-alive server with canned OpenAI and Anthropic answers.

Why not llmkit's emulator: it validates every request strictly, which is right for tests and
wrong for a benchmark, where the server must cost as little as possible so that client overhead
is what gets measured. This one parses only the request line, Content-Length and the path,
answers from bytes built once at start-up, and runs in its own process:

    python benchmarks/_server.py --stream-chunks 10000      # prints "READY <port>", then serves

Routes: POST /v1/chat/completions (OpenAI; streams when the body has `"stream": true`),
POST /v1/messages (Anthropic; same rule), GET /health. Anything else is a 404 so a misconfigured
client shows up as errors in the report, not as fast calls. Stdlib only: it must run from any venv.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys

__all__ = ["build_routes", "main"]

_STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')
_TEXT = "Hello from the benchmark server."
_MODEL_OPENAI = "gpt-4o-mini"
_MODEL_ANTHROPIC = "claude-haiku-4-5"


def _dump(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _plain(body: bytes, request_id: str) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        f"x-request-id: {request_id}\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _chunked(events: list[bytes], request_id: str) -> bytes:
    """A streamed answer as one buffer: one HTTP chunk per SSE event, as real servers send them."""
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        f"x-request-id: {request_id}\r\ntransfer-encoding: chunked\r\n\r\n"
    ).encode()
    parts = [head]
    for event in events:
        parts.append(b"%x\r\n%s\r\n" % (len(event), event))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def _openai(chunks: int) -> tuple[bytes, bytes]:
    usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}
    reply = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": _MODEL_OPENAI,
        "system_fingerprint": "fp_bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": _TEXT, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
    }
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": _MODEL_OPENAI}

    def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + _dump({**base, "choices": [choice]}) + b"\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    # distinct texts: LiteLLM aborts a stream that repeats one chunk too often
    events += [chunk({"content": f"t{i} "}) for i in range(chunks)]
    events.append(chunk({}, "stop"))
    events.append(b"data: " + _dump({**base, "choices": [], "usage": usage}) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return _plain(_dump(reply), "req_bench_openai"), _chunked(events, "req_bench_openai")


def _anthropic(chunks: int) -> tuple[bytes, bytes]:
    message = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": _MODEL_ANTHROPIC,
        "content": [{"type": "text", "text": _TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 7},
    }

    def event(name: str, data: dict[str, object]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + _dump({"type": name, **data}) + b"\n\n"

    def delta(i: int) -> bytes:
        return event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": f"t{i} "}})

    start = {**message, "content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    events = [
        event("message_start", {"message": start}),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        *(delta(i) for i in range(chunks)),
        event("content_block_stop", {"index": 0}),
        event(
            "message_delta",
            {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": chunks}},
        ),
        event("message_stop", {}),
    ]
    return _plain(_dump(message), "req_bench_anthropic"), _chunked(events, "req_bench_anthropic")


def build_routes(chunks: int) -> dict[bytes, tuple[bytes, bytes]]:
    """Path -> (plain answer, streamed answer), every byte built once."""
    return {b"/v1/chat/completions": _openai(chunks), b"/v1/messages": _anthropic(chunks)}


_HEALTH = _plain(b'{"ok":true}', "req_health")
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class _Conn(asyncio.Protocol):
    """One keep-alive connection: split requests out of the byte stream and answer each."""

    def __init__(self, routes: dict[bytes, tuple[bytes, bytes]]) -> None:
        self.routes = routes
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf = self.buf + data if self.buf else data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            lower = head.lower()
            body_start = end + 4
            if b"transfer-encoding: chunked" in lower:
                body, consumed = _dechunk(self.buf, body_start)
                if consumed < 0:
                    return
            else:
                length = 0
                at = lower.find(b"content-length:")
                if at >= 0:
                    stop = lower.find(b"\r\n", at)
                    length = int(lower[at + 15 : stop if stop >= 0 else None])
                consumed = body_start + length
                if len(self.buf) < consumed:
                    return
                body = self.buf[body_start:consumed]
            self.buf = self.buf[consumed:]
            self._answer(head, body, b"connection: close" in lower)

    def _answer(self, head: bytes, body: bytes, close: bool) -> None:
        assert self.transport is not None
        line_end = head.find(b"\r\n")
        parts = head[: line_end if line_end >= 0 else None].split(b" ")
        path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b""
        answers = self.routes.get(path)
        if answers is not None:
            self.transport.write(answers[1] if _STREAM_FLAG.search(body) else answers[0])
        elif path == b"/health":
            self.transport.write(_HEALTH)
        else:
            self.transport.write(_NOT_FOUND)
        if close:
            self.transport.close()


def _dechunk(buf: bytes, at: int) -> tuple[bytes, int]:
    """Decode a chunked request body; (-1) when it has not fully arrived yet."""
    out: list[bytes] = []
    while True:
        line_end = buf.find(b"\r\n", at)
        if line_end < 0:
            return b"", -1
        size = int(buf[at:line_end].split(b";")[0], 16)
        start = line_end + 2
        if size == 0:
            trailer_end = buf.find(b"\r\n", start)
            return (b"".join(out), trailer_end + 2) if trailer_end >= 0 else (b"", -1)
        if len(buf) < start + size + 2:
            return b"", -1
        out.append(buf[start : start + size])
        at = start + size + 2


async def _serve(host: str, port: int, chunks: int) -> None:
    routes = build_routes(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Conn(routes), host, port, backlog=4096, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stream-chunks", type=int, default=10_000)
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.host, args.port, args.stream_chunks))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
