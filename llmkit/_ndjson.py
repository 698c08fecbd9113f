"""Incremental newline-delimited JSON decoder (Ollama's streams, some batch outputs).

Bytes may be split anywhere, mid-line or mid-UTF-8 character; lines end in LF or CRLF; blank
lines are skipped. Each line must be one JSON value: a line that is not JSON raises
StreamError naming its start, so a broken stream is never read as a short one. A line longer
than `max_line_bytes` raises too, which keeps memory bounded against a server that never
sends a newline.
"""

from __future__ import annotations

import json
from typing import Any

from ._constants import MAX_STREAM_LINE_BYTES
from ._errors import StreamError

__all__ = ["NDJSONDecoder"]


class NDJSONDecoder:
    """Feed it bytes as they arrive; it returns the JSON values completed so far."""

    def __init__(self, *, provider: str | None = None, max_line_bytes: int = MAX_STREAM_LINE_BYTES) -> None:
        self._buf = bytearray()
        self._provider = provider
        self._max = max_line_bytes
        self._scan_from = 0  # bytes of _buf already known to hold no newline

    def feed(self, chunk: bytes) -> list[Any]:
        """Decode every complete line in `chunk` plus what was buffered before it."""
        if not chunk:
            return []
        self._buf += chunk
        out: list[Any] = []
        start = 0
        buf = self._buf
        while True:
            nl = buf.find(b"\n", max(start, self._scan_from))
            if nl < 0:
                break
            self._line(bytes(buf[start:nl]), out)
            start = nl + 1
            self._scan_from = start
        if start:
            del buf[:start]
        self._scan_from = len(buf)
        if len(buf) > self._max:
            raise StreamError(
                f"NDJSON line longer than {self._max} bytes without a newline: the stream is not NDJSON "
                "or the server is misbehaving",
                provider=self._provider,
            )
        return out

    def flush(self) -> list[Any]:
        """End of stream: decode a trailing line that had no newline."""
        rest = bytes(self._buf)
        self._buf.clear()
        self._scan_from = 0
        out: list[Any] = []
        self._line(rest, out)
        return out

    def _line(self, raw: bytes, out: list[Any]) -> None:
        line = raw.strip()
        if not line:
            return
        try:
            text = line.decode("utf-8")
            out.append(json.loads(text))
        except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, absurd nesting
            snippet = line[:120].decode("utf-8", errors="replace")
            raise StreamError(
                f"NDJSON stream has a line that is not JSON ({type(exc).__name__}): {snippet!r}",
                provider=self._provider,
            ) from None
