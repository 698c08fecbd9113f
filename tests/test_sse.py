"""The SSE decoder against real-world framing: split anywhere, CRLF, comments, raw lines."""

from __future__ import annotations

from llmkit._sse import SSEDecoder, SSEEvent

STREAM = (
    ": OPENROUTER PROCESSING\r\n\r\n"
    "event: message_start\r\n"
    'data: {"text":"héllo 🌍"}\r\n'
    "\r\n"
    "data:no-space\n"
    "data: second line\n"
    "id: 7\n"
    "retry: 1000\n"
    "\n"
    ": keep-alive\n"
    "data: [DONE]\r\r"
).encode()

EXPECTED = [
    SSEEvent("message_start", '{"text":"héllo 🌍"}'),
    SSEEvent("message", "no-space\nsecond line", "7", 1000),
    SSEEvent("message", "[DONE]", "7"),
]


def decode(chunks: list[bytes]) -> list[SSEEvent]:
    dec = SSEDecoder()
    out: list[SSEEvent] = []
    for c in chunks:
        out.extend(dec.feed(c))
    out.extend(dec.flush())
    return out


def test_whole_stream() -> None:
    assert decode([STREAM]) == EXPECTED


def test_every_two_way_split_gives_the_same_events() -> None:
    # Splits land mid-line, between CR and LF, and inside multi-byte UTF-8 characters.
    for i in range(len(STREAM) + 1):
        assert decode([STREAM[:i], STREAM[i:]]) == EXPECTED, i


def test_byte_by_byte() -> None:
    assert decode([bytes([b]) for b in STREAM]) == EXPECTED


def test_raw_json_error_lines_are_dispatched_not_lost() -> None:
    body = b'{\n  "error": {\n    "code": 429\n  }\n}\n'
    events = decode([body])
    assert events == [SSEEvent("raw", '{\n  "error": {\n    "code": 429\n  }\n}')]


def test_trailing_event_without_blank_line_is_flushed() -> None:
    assert decode([b"data: tail"]) == [SSEEvent("message", "tail")]


def test_comment_only_stream_has_no_events() -> None:
    assert decode([b": ping\n\n: ping\n\n"]) == []
