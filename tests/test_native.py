"""Native clients: streaming by endpoint (Gemini) vs by body flag (OpenAI, Anthropic); errors in streams."""

from __future__ import annotations

import pytest

import llmkit


def test_gemini_native_stream_sends_no_stream_flag(emu, client) -> None:
    native = client.native("gemini")
    # A streaming endpoint has no plain twin, so its one method keeps the operation's own name.
    assert not hasattr(native, "stream_generate_content_stream")
    body = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}
    events = list(native.stream_generate_content("gemini-2.5-flash", body))
    req = emu.last_request
    assert req.path == "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert req.query == {"alt": "sse"} and req.json() == body
    text = "".join(p.text or "" for e in events for c in e.candidates or [] for p in c.content.parts or [])
    assert text == "You said: hello there"


def test_openai_native_stream_error_event_raises(emu, client) -> None:
    emu.queue_stream("openai", [b'data: {"error": {"message": "boom", "type": "server_error"}}\n\n'])
    with pytest.raises(llmkit.ServerError, match="boom"):
        list(client.native("openai").create_chat_completion_stream({"model": "gpt-4o-mini", "messages": []}))


def test_anthropic_native_stream_error_event_raises(emu, client) -> None:
    emu.queue_stream(
        "anthropic",
        [b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'],
    )
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(llmkit.ServerError, match="Overloaded"):
        list(client.native("anthropic").create_message_stream(body))
