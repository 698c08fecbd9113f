"""Incremental Server-Sent Events decoder (WHATWG framing), tolerant of real-world streams.

Bytes may be split anywhere, mid-line or mid-UTF-8 character; lines end in LF, CRLF or CR;
comment lines (`: keep-alive`) are skipped; `data:` may lack its space. Lines that are not
SSE fields at all (some providers write a raw JSON error body into an event stream) are
collected and dispatched as one event named `raw`, so an error is never silently lost.
A line or an event larger than `max_event_chars` raises StreamError: memory stays bounded
against a server that never sends a newline.
"""

from __future__ import annotations

import codecs

import attrs

from ._constants import MAX_STREAM_LINE_BYTES
from ._errors import StreamError

__all__ = ["SSEDecoder", "SSEEvent"]

_FIELDS = frozenset({"event", "data", "id", "retry"})


@attrs.frozen(slots=True)
class SSEEvent:
    """One dispatched event: `event` is "message" unless the stream named it."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events completed so far."""

    def __init__(self, *, provider: str | None = None, max_event_chars: int = MAX_STREAM_LINE_BYTES) -> None:
        self._provider = provider
        self._max = max_event_chars
        self._size = 0  # characters held in the event being built
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        self._stray: list[str] = []
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        text = self._utf8.decode(chunk)
        if not text:
            return []
        if self._pending_cr:
            # A CR at the end of the last chunk ended a line; drop the LF of a split CRLF.
            self._pending_cr = False
            if text.startswith("\n"):
                text = text[1:]
        elif (
            not self._buf
            and not self._data
            and not self._stray
            and not self._event
            and self._retry is None
            and text.endswith("\n\n")
            and "\r" not in text
            and len(text) <= self._max
        ):
            # The common case, one whole event per network chunk: no line splitting.
            if text.startswith("data: ") and text.find("\n") == len(text) - 2:
                return [SSEEvent("message", text[6:-2], self._id)]
            nl = text.find("\n")
            if (
                text.startswith("event: ")
                and nl > 7
                and text.startswith("data: ", nl + 1)
                and text.find("\n", nl + 1) == len(text) - 2
            ):
                return [SSEEvent(text[7:nl], text[nl + 7 : -2], self._id)]
        self._buf += text
        return self._drain()

    def flush(self) -> list[SSEEvent]:
        """End of stream: dispatch whatever is complete, plus a trailing unterminated line."""
        self._buf += self._utf8.decode(b"", final=True)
        out = self._drain()
        if self._buf:
            self._line(self._buf, out)
            self._buf = ""
        self._dispatch(out)
        return out

    def _drain(self) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        buf = self._buf
        start = 0
        n = len(buf)
        while start < n:
            lf = buf.find("\n", start)
            cr = buf.find("\r", start, lf if lf >= 0 else n)
            if cr >= 0:
                end, nxt = cr, cr + 1
                if nxt < n and buf[nxt] == "\n":
                    nxt += 1
                elif nxt == n:
                    self._pending_cr = True
            elif lf >= 0:
                end, nxt = lf, lf + 1
            else:
                break
            self._line(buf[start:end], out)
            start = nxt
        self._buf = buf[start:]
        if len(self._buf) + self._size > self._max:
            raise StreamError(
                f"an SSE event grew past {self._max} characters without ending: the server is misbehaving",
                provider=self._provider,
            )
        return out

    def _line(self, line: str, out: list[SSEEvent]) -> None:
        if not line:
            self._dispatch(out)
            return
        if line[0] == ":":
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name not in _FIELDS:
            self._stray.append(line)
            self._size += len(line)
            return
        if name == "data":
            self._data.append(value)
            self._size += len(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif value.isdigit():
            self._retry = int(value)

    def _dispatch(self, out: list[SSEEvent]) -> None:
        if self._stray:
            out.append(SSEEvent("raw", "\n".join(self._stray)))
            self._stray = []
        if self._data:
            out.append(SSEEvent(self._event or "message", "\n".join(self._data), self._id, self._retry))
        self._event = ""
        self._data = []
        self._retry = None
        self._size = 0
