"""The fault matrix: each network fault against sync and async, plain and streamed calls.

Every row says what the server does, which typed error the caller gets, and how many requests
reached the server (max_retries=1, so a retryable fault shows as 2). docs/reliability.md
prints the same table. Time bounds are generous ceilings, never measurements.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmkit
from llmkit._http_errors import StreamTimeoutError
from tests._faulty import (
    MODES,
    FaultyServer,
    body_then,
    by_stream,
    call,
    closed_port,
    drip,
    openai_at,
    openai_body,
    openai_sse,
    reset,
    respond,
    stall,
    stream,
)

BODY = json.dumps(openai_body("all of it")).encode()
EVENTS = openai_sse(["all ", "of ", "it"])
HTML = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


def run(mode: str, handler: Any, **settings: Any) -> tuple[BaseException | str, int]:
    settings.setdefault("max_retries", 1)
    with FaultyServer(handler) as srv:
        try:
            out: BaseException | str = call(mode, openai_at(srv.url, **settings), sleeps=[])
        except Exception as exc:  # the assertion below checks its type
            out = exc
        return out, srv.count()


def test_connection_refused_every_mode() -> None:
    for mode in MODES:
        url = f"http://127.0.0.1:{closed_port()}"
        with pytest.raises(llmkit.ConnectionError, match="could not reach openai") as info:
            call(mode, openai_at(url, max_retries=1), sleeps=[])
        assert info.value.provider == "openai", mode


# (name, handler, expected type per mode {plain, stream}, message pattern, requests {plain, stream})
MATRIX: list[tuple[str, Any, tuple[type[BaseException], type[BaseException]], str, tuple[int, int]]] = [
    (
        "reset before any response byte",
        reset(),
        (llmkit.ConnectionError, llmkit.ConnectionError),
        "could not reach openai",
        (2, 2),
    ),
    (
        "reset mid-body / mid-stream",
        by_stream(body_then(200, BODY, 40, end="reset"), stream(EVENTS[:2], end="reset")),
        (llmkit.ConnectionError, llmkit.StreamError),
        "could not reach openai|stream from openai broke",
        (2, 1),
    ),
    (
        "server closes mid-body / mid-stream",
        by_stream(body_then(200, BODY, 40, end="close"), stream(EVENTS[:2], end="close")),
        (llmkit.ConnectionError, llmkit.StreamError),
        "could not reach openai|stream from openai broke",
        (2, 1),
    ),
    (
        "stream ends cleanly but without its terminator",
        by_stream(respond(200, openai_body("x")), stream(openai_sse(["a", "b"], done=False))),
        (str, llmkit.StreamError),
        "ended before `data: \\[DONE\\]`",
        (1, 1),
    ),
    (
        "HTML error page from a proxy",
        respond(502, HTML, {"content-type": "text/html"}),
        (llmkit.ServerError, llmkit.ServerError),
        "HTTP 502 with a non-JSON body, an HTML page .*502 Bad Gateway",
        (2, 2),
    ),
    (
        "malformed JSON in a 200",
        by_stream(respond(200, '{"id": "x", "choices": [', {"content-type": "application/json"}), stream(['data: {"id": "x", "choi\n\n'])),
        (llmkit.LLMKitError, llmkit.StreamError),
        "not JSON",
        (1, 1),
    ),
    (
        "error event inside a 200 stream",
        by_stream(respond(200, openai_body("x")), stream([*EVENTS[:2], 'data: {"error": {"message": "The server had an error", "type": "server_error"}}\n\n'])),
        (str, llmkit.ServerError),
        "The server had an error",
        (1, 1),
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "handler", "kinds", "pattern", "counts"), MATRIX, ids=[m[0] for m in MATRIX])
def test_fault_matrix(mode: str, name: str, handler: Any, kinds: tuple[type, type], pattern: str, counts: tuple[int, int]) -> None:
    streamed = mode.endswith("stream")
    kind, expected_count = kinds[streamed], counts[streamed]
    out, n = run(mode, handler)
    if kind is str:  # this fault only exists for the other kind of call: the plain answer arrives
        assert out == "x" and n == expected_count
        return
    assert isinstance(out, kind), (name, mode, out)
    assert isinstance(out, llmkit.LLMKitError) and out.provider == "openai"
    import re

    assert re.search(pattern, str(out)), (name, mode, str(out))
    assert n == expected_count, (name, mode, n)


@pytest.mark.parametrize("mode", MODES)
def test_stalled_server_is_a_read_timeout_retried_once(mode: str) -> None:
    out, n = run(mode, stall(), timeout=0.3)
    assert isinstance(out, llmkit.TimeoutError), out
    assert "timed out" in str(out)
    assert n == 2  # retried once: no byte had reached the caller


@pytest.mark.parametrize("mode", ["sync-stream", "async-stream"])
def test_stream_stalling_after_events_is_a_stream_timeout_not_retried(mode: str) -> None:
    out, n = run(mode, stream(EVENTS[:2], end="stall"), timeout=0.3)
    assert isinstance(out, StreamTimeoutError) and isinstance(out, llmkit.StreamError) and isinstance(out, llmkit.TimeoutError)
    assert "stalled" in str(out)
    assert n == 1


@pytest.mark.parametrize("mode", MODES)
def test_slow_drip_cannot_overrun_total_timeout(mode: str) -> None:
    """Every byte arrives well within the read timeout (the drip takes 8 s or more in all);
    only the deadline can stop this, and the error says it was the deadline."""
    slow = by_stream(drip(BODY, 0.02), stream(openai_sse(["x"] * 400), interval=0.02))
    out, n = run(mode, slow, timeout=5, total_timeout=0.6, max_retries=2)
    assert isinstance(out, llmkit.TimeoutError), out
    assert "total_timeout=0.6s" in str(out)
    assert n == 1  # the deadline is spent: no retry


@pytest.mark.parametrize("mode", MODES)
def test_total_timeout_leaves_a_fast_call_alone(mode: str) -> None:
    out, n = run(mode, by_stream(respond(200, openai_body("quick")), stream(openai_sse(["qu", "ick"]))), total_timeout=30)
    assert (out, n) == ("quick", 1)


@pytest.mark.parametrize("mode", MODES)
def test_giant_responses_arrive_whole(mode: str) -> None:
    pieces = [f"{i:06d}" + "x" * 994 for i in range(3000)]  # 3 MB of text
    text = "".join(pieces)
    out, n = run(mode, by_stream(respond(200, openai_body(text)), stream(openai_sse(pieces))))
    assert out == text and n == 1


@pytest.mark.parametrize("mode", ["sync-stream", "async-stream"])
def test_comments_ids_and_retry_fields_are_ignored(mode: str) -> None:
    noisy = [": keep-alive\n\n", "retry: 3000\n\n", *EVENTS[:2], ": OPENROUTER PROCESSING\n\n", "id: 9\n", *EVENTS[2:]]
    out, n = run(mode, stream(noisy))
    assert (out, n) == ("all of it", 1)


ANTHROPIC_START = 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
ANTHROPIC_TEXT = [
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n',
]
ANTHROPIC_END = [
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}\n\n',
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}\n\n',
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]


@pytest.mark.parametrize("mode", ["sync-stream", "async-stream"])
def test_unknown_event_types_are_ignored(mode: str) -> None:
    events = [ANTHROPIC_START, "event: ping\ndata: {\"type\": \"ping\"}\n\n", *ANTHROPIC_TEXT]
    events += ['event: brand_new_event\ndata: {"type":"brand_new_event","x":1}\n\n', *ANTHROPIC_END]
    with FaultyServer(stream(events)) as srv:
        providers = {"anthropic": {"api_key": "ak", "base_url": srv.url, "max_retries": 0}}
        assert call(mode, providers, model="anthropic/claude-sonnet-4-5", max_tokens=64) == "Hello"
        assert srv.count() == 1


@pytest.mark.parametrize("mode", ["sync-stream", "async-stream"])
def test_anthropic_overloaded_error_event_inside_a_200_stream(mode: str) -> None:
    events = [
        ANTHROPIC_START,
        *ANTHROPIC_TEXT,
        'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    ]
    with FaultyServer(lambda req: stream(events)) as srv:
        providers = {"anthropic": {"api_key": "ak", "base_url": srv.url, "max_retries": 3}}
        with pytest.raises(llmkit.ServerError, match="Overloaded") as info:
            call(mode, providers, model="anthropic/claude-sonnet-4-5", sleeps=[], max_tokens=64)
        assert srv.count() == 1  # an event had reached the caller: never retried
    assert info.value.code == "overloaded_error"


def test_events_already_delivered_are_kept_and_the_break_is_raised() -> None:
    """The caller sees every event that arrived, then a StreamError: no retry, no silent end."""
    with FaultyServer(lambda req: stream(EVENTS[:3], end="close")) as srv:
        with llmkit.Client(providers=openai_at(srv.url, max_retries=3)) as c:
            got: list[str] = []
            with pytest.raises(llmkit.StreamError), c.chat("openai/gpt-4o-mini", "hi", stream=True) as s:
                for text in s.text_stream:
                    got.append(text)
            assert got == ["all ", "of "]
            with pytest.raises(llmkit.StreamError, match="closed before it finished"):
                s.get_final_response()
        assert srv.count() == 1
