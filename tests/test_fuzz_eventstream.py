"""The AWS event-stream decoder against AWS's own test vectors, frames built here with
zlib.crc32 (independently of llmkit's encoder), and property tests: any split decodes the
same, any flipped bit is detected, random bytes raise only EventStreamError."""

from __future__ import annotations

import datetime as dt
import json
import struct
import uuid
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmkit import StreamError
from llmkit._eventstream import EventStreamDecoder, EventStreamError, EventStreamMessage, encode_message

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frame(headers: list[tuple[str, int, bytes]], payload: bytes) -> bytes:
    """A message from raw (name, type, encoded value) headers: the test's own encoder."""
    hb = b"".join(bytes([len(n.encode())]) + n.encode() + bytes([t]) + v for n, t, v in headers)
    total = 16 + len(hb) + len(payload)
    prelude = struct.pack(">II", total, len(hb))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + hb + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


def s(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">H", len(raw)) + raw


def bedrock_event(event_type: str, body: dict[str, object]) -> bytes:
    return frame(
        [
            (":event-type", 7, s(event_type)),
            (":content-type", 7, s("application/json")),
            (":message-type", 7, s("event")),
        ],
        json.dumps(body).encode(),
    )


def decode(chunks: list[bytes]) -> list[EventStreamMessage]:
    dec = EventStreamDecoder(provider="bedrock")
    out: list[EventStreamMessage] = []
    for c in chunks:
        out.extend(dec.feed(c))
    out.extend(dec.flush())
    return out


def test_aws_reference_vectors() -> None:
    empty = bytes.fromhex("000000100000000005c248eb7d98c8ff")
    assert decode([empty]) == [EventStreamMessage(headers={}, payload=b"")]
    assert encode_message({}, b"") == empty
    foo = frame([], b"{'foo':'bar'}")
    assert foo[:12].hex() == "0000001d00000000fd528c5a" and foo[-4:].hex() == "c3653936"
    assert decode([foo]) == [EventStreamMessage(headers={}, payload=b"{'foo':'bar'}")]


def test_bedrock_converse_stream_split_everywhere() -> None:
    data = (
        bedrock_event("messageStart", {"role": "assistant"})
        + bedrock_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hé"}, "p": "abcdefgh"})
        + bedrock_event("messageStop", {"stopReason": "end_turn"})
    )
    whole = decode([data])
    assert [m.event_type for m in whole] == ["messageStart", "contentBlockDelta", "messageStop"]
    assert [m.message_type for m in whole] == ["event", "event", "event"]
    assert json.loads(whole[1].payload)["delta"] == {"text": "Hé"}
    assert whole[1].headers[":content-type"] == "application/json"
    for i in range(len(data) + 1):
        assert decode([data[:i], data[i:]]) == whole, i


def test_every_header_type() -> None:
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    msg = frame(
        [
            ("t", 0, b""),
            ("f", 1, b""),
            ("b", 2, struct.pack(">b", -5)),
            ("h", 3, struct.pack(">h", -300)),
            ("i", 4, struct.pack(">i", 70000)),
            ("l", 5, struct.pack(">q", -(2**40))),
            ("bytes", 6, struct.pack(">H", 3) + b"\x00\x01\x02"),
            ("str", 7, s("ünï")),
            ("ts", 8, struct.pack(">q", 1_700_000_000_123)),
            ("id", 9, u.bytes),
        ],
        b"x",
    )
    (m,) = decode([msg])
    assert dict(m.headers) == {
        "t": True,
        "f": False,
        "b": -5,
        "h": -300,
        "i": 70000,
        "l": -(2**40),
        "bytes": b"\x00\x01\x02",
        "str": "ünï",
        "ts": dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=dt.UTC),
        "id": u,
    }
    assert encode_message(dict(m.headers), b"x") != b""  # every type encodes back
    assert decode([encode_message(dict(m.headers), b"x")])[0].headers["ts"] == m.headers["ts"]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (bytes.fromhex("000000100000000005c248ec7d98c8ff"), "prelude CRC32 mismatch"),
        (bytes.fromhex("000000100000000005c248eb7d98c8fe"), "message CRC32 mismatch"),
        (frame([("x", 42, b"")], b""), "unknown header value type 42"),
        (frame([("x", 7, struct.pack(">H", 10) + b"ab")], b""), "runs past the headers block"),
        (frame([("x", 4, b"\x00")], b""), "runs past the headers block"),
        (bedrock_event("messageStart", {})[:-3], "ended inside a message"),
    ],
)
def test_corruption_is_a_typed_error(data: bytes, match: str) -> None:
    with pytest.raises(EventStreamError, match=match) as info:
        decode([data])
    assert isinstance(info.value, StreamError) and info.value.provider == "bedrock"


def test_impossible_lengths_are_rejected_before_buffering() -> None:
    def prelude(total: int, headers: int) -> bytes:
        p = struct.pack(">II", total, headers)
        return p + struct.pack(">I", zlib.crc32(p))

    dec = EventStreamDecoder(max_payload_bytes=1000)
    with pytest.raises(EventStreamError, match="impossible lengths"):
        dec.feed(prelude(10, 0))
    with pytest.raises(EventStreamError, match="impossible lengths"):
        EventStreamDecoder().feed(prelude(20, 8))
    with pytest.raises(EventStreamError, match="impossible lengths"):
        dec.feed(b"")  # the same decoder keeps failing: the stream is dead
    with pytest.raises(EventStreamError, match="headers of 200000 bytes"):
        EventStreamDecoder().feed(prelude(300_000, 200_000))
    with pytest.raises(EventStreamError, match="exceeds the limit"):
        EventStreamDecoder(max_payload_bytes=1000).feed(prelude(2000, 0))


_header_value = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.binary(max_size=20),
    st.text(max_size=20),
    st.uuids(),
)
_headers = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda n: len(n.encode()) < 256), _header_value, max_size=5
)
_message = st.tuples(_headers, st.binary(max_size=64))


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in points:
        out.append(data[prev:p])
        prev = p
    return [*out, data[prev:]]


@FUZZ
@given(st.lists(_message, max_size=5), st.lists(st.integers(0, 5000), max_size=10))
def test_any_split_decodes_to_the_same_messages(messages, cuts) -> None:  # type: ignore[no-untyped-def]
    data = b"".join(encode_message(h, p) for h, p in messages)
    expected = [EventStreamMessage(headers=h, payload=p) for h, p in messages]
    assert decode([data]) == expected
    assert decode(_split(data, cuts)) == expected


@FUZZ
@given(st.lists(_message, min_size=1, max_size=3), st.integers(0, 10**9), st.integers(0, 7))
def test_any_flipped_bit_is_detected(messages, where, bit) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(b"".join(encode_message(h, p) for h, p in messages))
    data[where % len(data)] ^= 1 << bit
    with pytest.raises(EventStreamError):
        decode([bytes(data)])


@FUZZ
@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=6))
def test_random_bytes_raise_only_event_stream_error(data, cuts) -> None:  # type: ignore[no-untyped-def]
    try:
        decode(_split(data, cuts))
    except EventStreamError:
        pass
