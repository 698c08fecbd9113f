"""Structured output on the wire: one class, each provider's own form, a typed answer back.

`attach_parsed(resp, req)` is the step the client runs when it produces the final response;
these tests call it on real responses from the emulator.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any, Literal

import pytest

from llmkit._chat_params import chat_request
from llmkit._structured import StructuredOutputError, attach_parsed


@dataclasses.dataclass
class Place:
    city: str
    rank: int
    kind: Literal["capital", "town"]
    area: float | None = None


SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "rank": {"type": "integer"},
        "kind": {"type": "string", "enum": ["capital", "town"]},
        "area": {"type": ["number", "null"]},
    },
    "required": ["city", "rank", "kind", "area"],
    "additionalProperties": False,
}
STRICT = {"type": "json_schema", "json_schema": {"name": "Place", "schema": SCHEMA, "strict": True}}
JSON_TOOL = "llmkit_json_response"
PROMPT = "Name a city like Paris"
EXPECTED = Place(city="Paris", rank=1, kind="capital", area=1.0)  # what the emulator's model fills in


def _req(model: str, rf: Any = Place) -> Any:
    return chat_request(model.split("/", 1)[1], [], {"response_format": rf})


CASES: list[tuple[str, Any]] = [
    ("openai/gpt-4o-mini", lambda b: b["response_format"] == STRICT),
    ("mistral/mistral-large-latest", lambda b: b["response_format"] == STRICT),
    (
        "anthropic/claude-sonnet-4-5",
        lambda b: (
            b["tool_choice"] == {"type": "tool", "name": JSON_TOOL}
            and [t["input_schema"] for t in b["tools"]] == [SCHEMA]
        ),
    ),
    (
        "gemini/gemini-2.5-flash",
        lambda b: (
            b["generationConfig"]["responseJsonSchema"] == SCHEMA
            and b["generationConfig"]["responseMimeType"] == "application/json"
        ),
    ),
    ("ollama/llama3.2", lambda b: b["format"] == SCHEMA),
    ("cohere/command-a-03-2025", lambda b: b["response_format"] == {"type": "json_object", "json_schema": SCHEMA}),
]


@pytest.mark.parametrize(("model", "on_wire"), CASES, ids=[c[0].split("/")[0] for c in CASES])
def test_a_class_is_sent_in_each_providers_form_and_parsed_back(emu, client, model: str, on_wire: Any) -> None:
    resp = client.chat(model, PROMPT, response_format=Place)
    assert on_wire(emu.last_request.json())
    assert attach_parsed(resp, _req(model)).parsed == EXPECTED


@pytest.mark.parametrize(("model", "on_wire"), CASES, ids=[c[0].split("/")[0] for c in CASES])
def test_streams_give_the_same_parsed_answer(emu, client, model: str, on_wire: Any) -> None:
    stream = client.chat(model, PROMPT, response_format=Place, stream=True)
    final = stream.get_final_response()
    assert on_wire(emu.last_request.json())
    assert attach_parsed(final, _req(model)).parsed == EXPECTED


def test_a_plain_schema_gives_a_checked_dict_and_json_mode_an_object(emu, client) -> None:
    resp = client.chat("gemini/gemini-2.5-flash", PROMPT, response_format=SCHEMA)
    assert attach_parsed(resp, _req("gemini/x", SCHEMA)).parsed == {
        "city": "Paris",
        "rank": 1,
        "kind": "capital",
        "area": 1.0,
    }
    rf = {"type": "json_object"}
    resp = client.chat("openai/gpt-4o-mini", "Reply in JSON: hi", response_format=rf)
    assert emu.last_request.json()["response_format"] == rf
    assert attach_parsed(resp, _req("openai/x", rf)).parsed == json.loads(resp.text)
    assert isinstance(resp.parsed, dict)


def _openai_body(content: str, finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }


def test_a_wrong_answer_raises_naming_the_path_never_a_wrong_object(emu, client) -> None:
    emu.queue_json("openai", _openai_body(json.dumps({"city": "Paris", "rank": "first", "kind": "capital", "area": 1})))
    with pytest.raises(StructuredOutputError) as info:  # chat itself checks the answer
        client.chat("openai/gpt-4o-mini", PROMPT, response_format=Place)
    assert (info.value.path, info.value.reason) == ("$.rank", "expected integer, got 'first'")
    assert info.value.provider == "openai"


def test_a_cut_off_answer_says_so(emu, client) -> None:
    emu.queue_json("openai", _openai_body('{"city": "Par', finish="length"))
    with pytest.raises(StructuredOutputError, match="cut off at max_tokens"):
        client.chat("openai/gpt-4o-mini", PROMPT, response_format=Place, max_tokens=3)


def test_a_wrong_anthropic_tool_input_is_caught_too(emu, client) -> None:
    emu.queue_json(
        "anthropic",
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": JSON_TOOL, "input": {"city": "Paris"}}],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 5},
        },
    )
    with pytest.raises(StructuredOutputError) as info:
        client.chat("anthropic/claude-sonnet-4-5", PROMPT, response_format=Place)
    assert (info.value.path, info.value.reason) == ("$.rank", "required property is missing")


def test_no_response_format_or_a_tool_call_leaves_parsed_empty(emu, client) -> None:
    resp = client.chat("openai/gpt-4o-mini", "Hi")
    assert attach_parsed(resp, chat_request("gpt-4o-mini", [], {})).parsed is None
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
    resp = client.chat("openai/gpt-4o-mini", "Look it up", tools=[tool], tool_choice="required", response_format=Place)
    assert resp.tool_calls and attach_parsed(resp, _req("openai/gpt-4o-mini")).parsed is None


def test_async_client_answer_parses_the_same(emu) -> None:
    async def run() -> Any:
        async with emu.async_client() as ac:
            return await ac.chat("gemini/gemini-2.5-flash", PROMPT, response_format=Place)

    resp = asyncio.run(run())
    assert attach_parsed(resp, _req("gemini/gemini-2.5-flash")).parsed == EXPECTED


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"])
def test_chat_fills_parsed_for_plain_calls_and_streams(emu, client, model) -> None:
    resp = client.chat(model, "Name a city: Paris", response_format=Place, max_tokens=200)
    assert isinstance(resp.parsed, Place) and resp.parsed.kind == "capital" and resp.parsed.rank == 1
    final = client.chat(model, "Name a city: Paris", response_format=Place, max_tokens=200, stream=True)
    assert final.get_final_response().parsed == resp.parsed
