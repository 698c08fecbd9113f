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
