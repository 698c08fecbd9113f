"""Property tests of the SSE decoder: any split of a valid stream gives the same events, and
arbitrary bytes never raise anything but StreamError."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmkit import StreamError
from llmkit._sse import SSEDecoder, SSEEvent

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Field values: any text without line breaks (the decoder's only separators).
_value = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30)
_name = _value.filter(lambda s: s != "" and not s.startswith(" "))
_event = st.tuples(st.one_of(st.none(), _name), st.lists(_value, min_size=1, max_size=4), st.one_of(st.none(), _value))


def _decode(chunks: list[bytes], **kw: int) -> list[SSEEvent]:
    dec = SSEDecoder(**kw)  # type: ignore[arg-type]
    out: list[SSEEvent] = []
    for c in chunks:
        out.extend(dec.feed(c))
    out.extend(dec.flush())
    return out


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in points:
        out.append(data[prev:p])
        prev = p
    out.append(data[prev:])
    return out


def _serialize(
    events: list[tuple[str | None, list[str], str | None]], eol: str, comments: bool
) -> tuple[bytes, list[SSEEvent]]:
    lines: list[str] = []
    expected: list[SSEEvent] = []
    last_id: str | None = None
    for name, data, ident in events:
        if comments:
            lines.append(": keep-alive")
        if name is not None:
            lines.append(f"event: {name}")
        lines.extend(f"data: {d}" for d in data)
        if ident is not None:
            lines.append(f"id: {ident}")
            if "\0" not in ident:
                last_id = ident
        lines.append("")
        expected.append(SSEEvent(name or "message", "\n".join(data), last_id))
    return "".join(line + eol for line in lines).encode(), expected


@FUZZ
@given(
    st.lists(_event, max_size=8),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
    st.lists(st.integers(0, 10_000), max_size=12),
)
def test_any_split_of_a_valid_stream_decodes_to_the_same_events(events, eol, comments, cuts) -> None:  # type: ignore[no-untyped-def]
    data, expected = _serialize(events, eol, comments)
    assert _decode([data]) == expected
    assert _decode(_split(data, cuts)) == expected


@FUZZ
@given(st.lists(_event, min_size=1, max_size=4), st.sampled_from(["\n", "\r\n"]))
def test_byte_by_byte_equals_whole(events, eol) -> None:  # type: ignore[no-untyped-def]
    data, expected = _serialize(events, eol, True)
    assert _decode([data[i : i + 1] for i in range(len(data))]) == expected


@FUZZ
@given(st.binary(max_size=400), st.lists(st.integers(0, 1000), max_size=8))
def test_random_bytes_raise_only_stream_error_and_split_does_not_matter(data, cuts) -> None:  # type: ignore[no-untyped-def]
    try:
        whole = _decode([data], max_event_chars=64)
    except StreamError:
        whole = None
    try:
        split = _decode(_split(data, cuts), max_event_chars=64)
    except StreamError:
        split = None
    if whole is not None and split is not None:
        assert whole == split


def test_a_line_without_end_is_a_typed_error_not_unbounded_memory() -> None:
    dec = SSEDecoder(provider="openai", max_event_chars=1000)
    dec.feed(b"data: " + b"x" * 900)
    with pytest.raises(StreamError, match="grew past 1000 characters") as info:
        dec.feed(b"x" * 200)
    assert info.value.provider == "openai"


def test_many_data_lines_without_a_blank_line_are_bounded_too() -> None:
    dec = SSEDecoder(max_event_chars=1000)
    with pytest.raises(StreamError, match="grew past 1000"):
        for _ in range(200):
            dec.feed(b"data: 0123456789\n")


def test_events_under_the_limit_reset_the_count() -> None:
    dec = SSEDecoder(max_event_chars=100)
    events = []
    for _ in range(50):
        events += dec.feed(b"data: " + b"y" * 60 + b"\n\n")
    assert len(events) == 50 and events[0] == SSEEvent("message", "y" * 60)
