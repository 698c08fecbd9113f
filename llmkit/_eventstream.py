"""Incremental decoder (and encoder) of the AWS event-stream binary framing (Bedrock streams).

A message is a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), typed
headers, a payload and a CRC32 of everything before it; integers are big-endian. Network
chunks may hold part of a message or several. Both CRCs are checked, lengths are checked
against AWS's own limits before anything is buffered, and any corruption raises
`EventStreamError` (a StreamError): a damaged stream is never decoded into wrong events.
The encoder exists so emulators and tests can produce real frames.
"""

from __future__ import annotations

import datetime as _dt
import struct
import uuid
import zlib
from collections.abc import Mapping
from typing import Union

import attrs

from ._constants import EVENTSTREAM_MAX_HEADERS_BYTES, EVENTSTREAM_MAX_PAYLOAD_BYTES
from ._errors import StreamError

__all__ = ["EventStreamDecoder", "EventStreamError", "EventStreamMessage", "HeaderValue", "encode_message"]

HeaderValue = Union[bool, int, bytes, str, _dt.datetime, uuid.UUID]  # noqa: UP007 (a runtime alias)

_PRELUDE = struct.Struct(">III")
_PRELUDE_LEN = 12
_OVERHEAD = 16  # prelude + trailing message CRC
_INTS = {2: struct.Struct(">b"), 3: struct.Struct(">h"), 4: struct.Struct(">i"), 5: struct.Struct(">q")}


class EventStreamError(StreamError):
    """The event stream is corrupt or cut: a bad CRC, an impossible length, a bad header."""


@attrs.frozen(slots=True)
class EventStreamMessage:
    """One decoded message: its headers (`:event-type`, `:message-type`, ...) and payload."""

    headers: Mapping[str, HeaderValue]
    payload: bytes

    @property
    def message_type(self) -> str | None:
        """`event`, `exception` or `error` (None when the header is missing)."""
        v = self.headers.get(":message-type")
        return v if isinstance(v, str) else None

    @property
    def event_type(self) -> str | None:
        v = self.headers.get(":event-type")
        return v if isinstance(v, str) else None


class EventStreamDecoder:
    """Feed it bytes as they arrive; it returns the messages completed so far."""

    def __init__(
        self,
        *,
        provider: str | None = None,
        max_headers_bytes: int = EVENTSTREAM_MAX_HEADERS_BYTES,
        max_payload_bytes: int = EVENTSTREAM_MAX_PAYLOAD_BYTES,
    ) -> None:
        self._buf = bytearray()
        self._provider = provider
        self._max_headers = max_headers_bytes
        self._max_payload = max_payload_bytes
        self._need: int | None = None  # total length of the message being buffered, once known

    def feed(self, chunk: bytes) -> list[EventStreamMessage]:
        self._buf += chunk
        out: list[EventStreamMessage] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= _PRELUDE_LEN:
            total = self._need if self._need is not None else self._prelude(buf, pos)
            self._need = total
            if len(buf) - pos < total:
                break
            out.append(self._message(bytes(buf[pos : pos + total])))
            self._need = None
            pos += total
        if pos:
            del buf[:pos]
        return out

    def flush(self) -> list[EventStreamMessage]:
        """End of stream: anything left over is a message cut short."""
        if self._buf:
            n = len(self._buf)
            self._buf.clear()
            self._need = None
            raise self._error(f"the event stream ended inside a message ({n} bytes of it arrived)")
        return []

    def _error(self, what: str) -> EventStreamError:
        return EventStreamError(f"corrupt AWS event stream: {what}", provider=self._provider)

    def _prelude(self, buf: bytearray, pos: int) -> int:
        total, headers_len, crc = _PRELUDE.unpack_from(buf, pos)
        if zlib.crc32(buf[pos : pos + 8]) != crc:
            raise self._error("prelude CRC32 mismatch")
        if total < _OVERHEAD or headers_len > total - _OVERHEAD:
            raise self._error(f"impossible lengths (total {total}, headers {headers_len})")
        if headers_len > self._max_headers:
            raise self._error(f"headers of {headers_len} bytes exceed the {self._max_headers}-byte limit")
        if total - _OVERHEAD - headers_len > self._max_payload:
            raise self._error(f"payload of {total - _OVERHEAD - headers_len} bytes exceeds the limit")
        return int(total)

    def _message(self, frame: bytes) -> EventStreamMessage:
        (crc,) = struct.unpack_from(">I", frame, len(frame) - 4)
        if zlib.crc32(frame[:-4]) != crc:
            raise self._error("message CRC32 mismatch")
        (headers_len,) = struct.unpack_from(">I", frame, 4)
        end = _PRELUDE_LEN + headers_len
        headers = self._headers(frame[_PRELUDE_LEN:end])
        return EventStreamMessage(headers=headers, payload=frame[end:-4])

    def _headers(self, data: bytes) -> dict[str, HeaderValue]:
        out: dict[str, HeaderValue] = {}
        pos, n = 0, len(data)
        try:
            while pos < n:
                name_len = data[pos]
                pos += 1
                name = data[pos : pos + name_len].decode("utf-8")
                if len(name.encode("utf-8")) != name_len or not name:
                    raise self._error("a header name runs past the headers block")
                pos += name_len
                kind = data[pos]
                pos += 1
                value, pos = self._value(kind, data, pos)
                out[name] = value
        except (IndexError, struct.error, UnicodeDecodeError):
            raise self._error("a header runs past the headers block or is not valid UTF-8") from None
        return out

    def _value(self, kind: int, data: bytes, pos: int) -> tuple[HeaderValue, int]:
        if kind in (0, 1):
            return kind == 0, pos
        if kind in _INTS:
            s = _INTS[kind]
            return int(s.unpack_from(data, pos)[0]), pos + s.size
        if kind in (6, 7):
            (length,) = struct.unpack_from(">H", data, pos)
            pos += 2
            raw = data[pos : pos + length]
            if len(raw) != length:
                raise self._error("a header value runs past the headers block")
            return (raw if kind == 6 else raw.decode("utf-8")), pos + length
        if kind == 8:
            (ms,) = struct.unpack_from(">q", data, pos)
            try:
                ts = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC)
            except (OverflowError, OSError, ValueError):
                raise self._error(f"timestamp header out of range ({ms} ms)") from None
            return ts, pos + 8
        if kind == 9:
            raw = data[pos : pos + 16]
            if len(raw) != 16:
                raise self._error("a UUID header value runs past the headers block")
            return uuid.UUID(bytes=raw), pos + 16
        raise self._error(f"unknown header value type {kind}")


def encode_message(headers: Mapping[str, HeaderValue], payload: bytes) -> bytes:
    """One framed message. `int` headers are encoded as int64, `str` as string, `bytes` as bytes."""
    hb = bytearray()
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        if not 0 < len(raw_name) < 256:
            raise ValueError(f"header name must be 1..255 bytes of UTF-8, got {name!r}")
        hb += bytes([len(raw_name)]) + raw_name
        if isinstance(value, bool):
            hb.append(0 if value else 1)
        elif isinstance(value, int):
            hb.append(5)
            hb += struct.pack(">q", value)
        elif isinstance(value, (bytes, str)):
            raw = value.encode("utf-8") if isinstance(value, str) else value
            if len(raw) > 32767:
                raise ValueError(f"header {name!r} value is longer than 32767 bytes")
            hb.append(7 if isinstance(value, str) else 6)
            hb += struct.pack(">H", len(raw)) + raw
        elif isinstance(value, _dt.datetime):
            hb.append(8)
            hb += struct.pack(">q", int(value.timestamp() * 1000))
        else:
            hb.append(9)
            hb += value.bytes
    total = _OVERHEAD + len(hb) + len(payload)
    prelude = struct.pack(">II", total, len(hb))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + bytes(hb) + payload
    return body + struct.pack(">I", zlib.crc32(body))
