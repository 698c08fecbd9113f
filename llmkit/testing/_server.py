"""The emulator's HTTP server: real sockets on 127.0.0.1, a random port, one thread per
connection, HTTP/1.1 keep-alive and chunked streaming, like the providers it stands in for.

Each provider is served under its own path prefix (`/openai/v1`, `/anthropic`, `/gemini/v1beta`)
by a handler module that knows its wire dialect and is as strict as the real provider.
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import attrs

__all__ = ["EmuRequest", "EmuResponse", "Emulator", "ProviderHandler"]

# One module per emulated provider, each exposing HANDLER (a ProviderHandler).
def _discover() -> list[ProviderHandler]:
    """Every emulated provider: each `llmkit.testing._<name>_emu` module's HANDLER or HANDLERS.

    Discovered rather than listed, so adding a provider's emulator is one new module.
    """
    import importlib
    import pkgutil

    from . import __path__ as package_path

    found: list[ProviderHandler] = []
    for info in sorted(pkgutil.iter_modules(package_path), key=lambda i: i.name):
        if not (info.name.startswith("_") and info.name.endswith("_emu")):
            continue
        module = importlib.import_module(f"llmkit.testing.{info.name}")
        one = getattr(module, "HANDLER", None)
        if one is not None:
            found.append(one)
        many = getattr(module, "HANDLERS", None)
        if many:
            found.extend(many.values() if isinstance(many, dict) else many)
    return found


@attrs.define(kw_only=True)
class EmuRequest:
    """One request as the emulator received it: what went over the wire, exactly."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    provider: str
    subpath: str  # the path after the provider's prefix
    # Every query pair in wire order, repeated keys kept (`keyterm=a&keyterm=b`); `query` keeps the last.
    query_items: list[tuple[str, str]] = attrs.field(factory=list)
    # The query string exactly as sent, still percent-encoded (`keyterm=a+b`).
    raw_query: str = ""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@attrs.define(kw_only=True)
class EmuResponse:
    """What to send back: a body, or stream chunks written one by one."""

    status: int = 200
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    chunks: list[bytes] | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> EmuResponse:
        h = {"content-type": "application/json"}
        h.update(headers or {})
        return cls(status=status, headers=h, body=json.dumps(data, ensure_ascii=False).encode())

    @classmethod
    def sse(cls, events: Iterable[str], headers: Mapping[str, str] | None = None) -> EmuResponse:
        h = {"content-type": "text/event-stream", "cache-control": "no-cache"}
        h.update(headers or {})
        return cls(status=200, headers=h, chunks=[e.encode() for e in events])


class ProviderHandler(Protocol):
    """A provider's emulation: its prefix and how it answers a request."""

    provider: str
    prefix: str

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse: ...

    def error(self, status: int, message: str, kind: str) -> EmuResponse: ...


class _Server(ThreadingHTTPServer):
    # Python's default listen backlog of 5 resets connections when hundreds of clients connect
    # at once; providers accept them, so the emulator does too.
    request_queue_size = 1024


class Emulator:
    """A local, strict emulator of provider wire protocols.

    Use `llmkit.testing.emulator()` (a context manager) or the `llmkit_emulator` pytest
    fixture. `client()` returns an llmkit.Client pointed at it; `requests` records every
    request; `queue()` scripts the next response of a provider (a fixture body, a raw stream,
    an error) to test how your code handles it.
    """

    def __init__(self, api_key: str = "test-key", *, require_key: str | None = None, port: int = 0) -> None:
        self.api_key = api_key
        self._port = port
        self.require_key = require_key
        self.requests: list[EmuRequest] = []
        self._queues: dict[str, collections.deque[EmuResponse | Callable[[EmuRequest], EmuResponse]]] = {}
        self._handlers: dict[str, ProviderHandler] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for h in _discover():
            if h.provider in self._handlers:
                raise RuntimeError(f"two emulator handlers claim provider {h.provider!r}")
            self._handlers[h.provider] = h
        # Longest prefix first, so a nested prefix is never shadowed by a shorter one.
        self._routes = sorted(self._handlers.values(), key=lambda h: len(h.prefix), reverse=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        handler = _make_handler(self)
        self._server = _Server(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="llmkit-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def base_url(self, provider: str) -> str:
        return self.url + self._handlers[provider].prefix

    def providers_config(self, **overrides: Any) -> dict[str, dict[str, Any]]:
        """Settings for `llmkit.Client(providers=...)` that point every provider here.

        A handler with `serves = (provider, setting)` emulates an operation host of its own
        (Jina Reader, Bedrock's control plane): its URL goes into that provider's setting.
        """
        config: dict[str, dict[str, Any]] = {}
        hosts: list[tuple[str, str, str]] = []
        for name in sorted(self._handlers):
            serves = getattr(self._handlers[name], "serves", None)
            if serves is not None:
                hosts.append((serves[0], serves[1], self.base_url(name)))
                continue
            config[name] = {"api_key": self.api_key, "base_url": self.base_url(name), "max_retries": 0, **overrides}
        for provider, setting, url in hosts:
            if provider in config:
                config[provider].setdefault(setting, url)  # an explicit override wins
        return config

    def client(self, **overrides: Any) -> Any:
        """An llmkit.Client wired to this emulator."""
        from .._client import Client

        return Client(providers=self.providers_config(**overrides))

    def async_client(self, **overrides: Any) -> Any:
        """An llmkit.AsyncClient wired to this emulator."""
        from .._client import AsyncClient

        return AsyncClient(providers=self.providers_config(**overrides))

    # -- scripting ---------------------------------------------------------------------------
    def queue(self, provider: str, response: EmuResponse | Callable[[EmuRequest], EmuResponse]) -> None:
        """Answer the next request to `provider` with this response instead of the model."""
        with self._lock:
            self._queues.setdefault(provider, collections.deque()).append(response)

    def queue_json(self, provider: str, body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        self.queue(provider, EmuResponse.json(body, status, headers))

    def queue_stream(
        self,
        provider: str,
        chunks: Iterable[bytes | str],
        status: int = 200,
        content_type: str = "text/event-stream",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Serve these exact bytes as a stream, one write per chunk (split them anywhere)."""
        h = {"content-type": content_type, **(headers or {})}
        self.queue(
            provider,
            EmuResponse(status=status, headers=h, chunks=[c.encode() if isinstance(c, str) else c for c in chunks]),
        )

    def queue_error(
        self,
        provider: str,
        status: int,
        message: str = "emulated error",
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The provider's own error shape for `status`."""
        resp = self._handlers[provider].error(status, message, kind or "")
        resp.headers.update(headers or {})
        self.queue(provider, resp)

    @property
    def last_request(self) -> EmuRequest:
        if not self.requests:
            raise AssertionError("the emulator has received no request")
        return self.requests[-1]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queues.clear()

    # -- dispatch ----------------------------------------------------------------------------
    def _dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> EmuResponse:
        parts = urlsplit(target)
        path = parts.path
        for h in self._routes:
            if path == h.prefix or path.startswith(h.prefix + "/"):
                req = EmuRequest(
                    method=method,
                    path=path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    query_items=parse_qsl(parts.query, keep_blank_values=True),
                    raw_query=parts.query,
                    headers=headers,
                    body=body,
                    provider=h.provider,
                    subpath=path[len(h.prefix) :],
                )
                with self._lock:
                    self.requests.append(req)
                    q = self._queues.get(h.provider)
                    scripted = q.popleft() if q else None
                if scripted is not None:
                    return scripted(req) if callable(scripted) else scripted
                return h.handle(req, self)
        return EmuResponse.json({"error": {"message": f"no emulated provider serves {path}"}}, 404)


def _make_handler(emu: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body writes
        server_version = "llmkit-emulator"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                resp = emu._dispatch(self.command, self.path, headers, body)
            except Exception as exc:  # an emulator bug must show as a 500, not a hang
                resp = EmuResponse.json({"error": {"message": f"emulator failure: {exc!r}"}}, 500)
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if resp.chunks is None:
                self.send_header("content-length", str(len(resp.body)))
                self.end_headers()
                self.wfile.write(resp.body)
                return
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for c in resp.chunks:
                if c:
                    self.wfile.write(f"{len(c):x}\r\n".encode() + c + b"\r\n")
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    return Handler
