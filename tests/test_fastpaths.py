"""The streaming fast paths give exactly what the general paths give."""

from __future__ import annotations

import json

from llmkit._registry import provider_spec
from llmkit._sse import SSEDecoder, SSEEvent
from llmkit.dialects._base import CallContext
from llmkit.dialects.openai_chat import DIALECT

CHUNKS = [
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None}, "finish_reason": None}
        ],
    },
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": "Hé"}, "logprobs": None, "finish_reason": None}],
    },
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "service_tier": "default",
        "choices": [{"index": 0, "delta": {"content": "llo"}, "finish_reason": None}],
    },
    {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}},
]


def _run(fast: bool) -> tuple[list[object], object]:
    dec = DIALECT.stream_decoder(CallContext(spec=provider_spec("openai"), model="gpt-4o-mini"))
    dec.fast = fast
    events: list[object] = []
    for c in CHUNKS:
        events += dec.feed(SSEEvent("message", json.dumps(c)))
    events += dec.feed(SSEEvent("message", "[DONE]"))
    events += dec.end()
    return events, dec.acc.response()


def test_openai_fast_chunk_path_matches_general_path() -> None:
    fast_events, fast_resp = _run(True)
    slow_events, slow_resp = _run(False)
    assert fast_events == slow_events
    assert fast_resp == slow_resp
    assert fast_resp.text == "Héllo" and fast_resp.raw == slow_resp.raw


def test_sse_single_event_chunks_match_general_path() -> None:
    stream = [b'data: {"a": 1}\n\n', b"id: 7\n", b'data: {"b": 2}\n\n', b'data: {"c": 3}\n\n', b"data: x\r\n\r\n"]
    fast = SSEDecoder()
    got = [ev for chunk in stream for ev in fast.feed(chunk)] + fast.flush()
    slow = SSEDecoder()
    whole = slow.feed(b"".join(stream)) + slow.flush()
    assert (
        got
        == whole
        == [
            SSEEvent("message", '{"a": 1}'),
            SSEEvent("message", '{"b": 2}', "7"),
            SSEEvent("message", '{"c": 3}', "7"),
            SSEEvent("message", "x", "7"),
        ]
    )


def test_sse_named_single_event_chunks_match_general_path() -> None:
    stream = [
        b'event: message_start\ndata: {"a": 1}\n\n',
        b"event: ping\ndata: {}\n\n",
        b"event: \ndata: x\n\n",  # an empty name is the default event type
        b"event: a\ndata: one\ndata: two\n\n",  # two data lines: general path
    ]
    fast = SSEDecoder()
    got = [ev for chunk in stream for ev in fast.feed(chunk)] + fast.flush()
    slow = SSEDecoder()
    assert (
        got
        == slow.feed(b"".join(stream)) + slow.flush()
        == [
            SSEEvent("message_start", '{"a": 1}'),
            SSEEvent("ping", "{}"),
            SSEEvent("message", "x"),
            SSEEvent("a", "one\ntwo"),
        ]
    )


def test_anthropic_fast_text_delta_matches_general_path() -> None:
    from llmkit.dialects.anthropic_messages import DIALECT as ANTHROPIC

    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "claude-sonnet-4-5",
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 3, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hé"}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "llo"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 2},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]

    def run(fast: bool) -> tuple[list[object], object]:
        dec = ANTHROPIC.stream_decoder(CallContext(spec=provider_spec("anthropic"), model="claude-sonnet-4-5"))
        if not fast:
            dec._fast_text = lambda payload, out: False  # type: ignore[method-assign]
        out: list[object] = []
        for name, payload in events:
            out += dec.feed(SSEEvent(name, json.dumps(payload)))
        out += dec.end()
        return out, dec.acc.response()

    assert run(True) == run(False)
    assert run(True)[1].text == "Héllo"
