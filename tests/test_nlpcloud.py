"""NLP Cloud on the wire: `Token` auth, the model in the URL path, a conversation folded into the
chatbot task's {input, context, history}, non-Latin text both ways, `{"detail"}` errors, the
native generation task, and everything the chatbot cannot carry refused before any request.
Fixtures follow wire-facts-regional.md §8."""

from __future__ import annotations

from typing import Any

import pytest

import llmkit
from llmkit.testing._server import Emulator

MODEL = "nlpcloud/finetuned-llama-3-70b"


def nlp(emu: Emulator) -> llmkit.Client:
    return llmkit.Client(
        providers={"nlpcloud": {"api_key": "nlp-key", "base_url": emu.base_url("nlpcloud"), "max_retries": 0}}
    )


def test_a_conversation_becomes_the_chatbot_task(emu: Emulator) -> None:
    with nlp(emu) as c:
        resp = c.chat(
            MODEL,
            [
                {"role": "system", "content": "Tu es un assistant."},
                {"role": "user", "content": "Bonjour 👋"},
                {"role": "assistant", "content": "Bonjour ! Comment puis-je aider ?"},
                {"role": "user", "content": "日本語で答えて"},
                {"role": "user", "content": "Привет"},
            ],
        )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/nlpcloud/v1/gpu/finetuned-llama-3-70b/chatbot")
    assert req.headers["authorization"] == "Token nlp-key"
    assert req.json() == {
        "input": "Привет",
        "context": "Tu es un assistant.",
        "history": [
            {"input": "Bonjour 👋", "response": "Bonjour ! Comment puis-je aider ?"},
            {"input": "日本語で答えて", "response": ""},
        ],
    }
    assert (resp.text, resp.finish_reason, resp.usage.total_tokens, resp.id) == ("You said: Привет", "stop", 0, None)


def test_recorded_answer(emu: Emulator) -> None:
    emu.queue_json(
        "nlpcloud",
        {"response": "Je vais bien, merci.", "history": [{"input": "Ça va ?", "response": "Je vais bien, merci."}]},
    )
    with nlp(emu) as c:
        assert c.chat(MODEL, "Ça va ?").text == "Je vais bien, merci."


def test_detail_errors(emu: Emulator) -> None:
    with nlp(emu) as c:
        with pytest.raises(llmkit.NotFoundError, match="Model gpt-j does not exist"):
            c.chat("nlpcloud/gpt-j", "hi")
        emu.require_key = "other"
        with pytest.raises(llmkit.AuthenticationError, match="Invalid token"):
            c.chat(MODEL, "hi")


def test_native_generation(emu: Emulator) -> None:
    with nlp(emu) as c:
        out = c.native("nlpcloud").generation(
            "finetuned-llama-3-70b", {"text": "Es war einmal", "max_length": 50, "temperature": 0.7}
        )
    assert emu.last_request.path == "/nlpcloud/v1/gpu/finetuned-llama-3-70b/generation"
    assert (out.generated_text, out.nb_input_tokens, out.nb_generated_tokens) == ("You said: Es war einmal", 3, 5)


@pytest.mark.parametrize(
    ("params", "messages", "err"),
    [
        ({"stream": True}, "hi", llmkit.UnsupportedFeatureError),
        ({"temperature": 0.2}, "hi", llmkit.UnsupportedFeatureError),
        ({"max_tokens": 10}, "hi", llmkit.UnsupportedFeatureError),
        ({"stop": ["\n"]}, "hi", llmkit.UnsupportedFeatureError),
        ({"tools": [{"name": "f", "parameters": {"type": "object"}}]}, "hi", llmkit.UnsupportedFeatureError),
        ({}, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}], llmkit.BadRequestError),
        (
            {},
            [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c", "content": "1"},
                {"role": "user", "content": "ok"},
            ],
            llmkit.UnsupportedFeatureError,
        ),
    ],
)
def test_what_the_chatbot_cannot_carry_is_refused_before_any_request(
    emu: Emulator, params: dict[str, Any], messages: Any, err: type[Exception]
) -> None:
    with nlp(emu) as c, pytest.raises(err):
        c.chat(MODEL, messages, **params)
    assert emu.requests == []
