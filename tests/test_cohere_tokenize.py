"""Cohere token counting through `POST /v1/tokenize`, and the native tokenize/detokenize, on the
wire against the strict emulator (shapes from docs.cohere.com/reference/tokenize and
/detokenize)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import llmkit
from llmkit._modal_types import TokenCount
from llmkit.generated.wire import cohere_v2 as wire
from llmkit.modalities.cohere import TOKENIZE_MAX_CHARS, text_chunks
from llmkit.testing import emulator
from llmkit.testing._cohere_emu import emu_tokens

CHAT = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hello there, world!"}]
CMD = "command-r-plus-08-2024"
# The 200 answer in Cohere's reference for text "tokenize me! :D" and model command-a-03-2025.
DOCUMENTED = {
    "tokens": [10002, 2261, 2012, 8, 2792, 43],
    "token_strings": ["token", "ize", " me", "!", " :", "D"],
    "meta": {"api_version": {"version": "1"}},
}


def _post(emu: Any, path: str, body: Any, key: str | None = "k") -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(emu.base_url("cohere") + path, json=body, headers=headers)


def test_count_tokens_posts_the_prompt_text_and_says_it_estimates(emu: Any, client: Any) -> None:
    n = client.count_tokens(f"cohere/{CMD}", CHAT)
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("POST", "/cohere/v1/tokenize", {})
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.headers["content-type"] == "application/json"
    # System and user text, one piece a line; no roles, no chat template.
    assert req.json() == {"text": "You are terse.\nHello there, world!", "model": CMD}
    # The emulator's tokens: You| are| ter|se|.|\n|Hell|o| the|re|,| wor|ld|! = 14.
    assert n == TokenCount(count=14, exact=False, model=CMD, provider="cohere", method="provider")
    assert int(n) == 14 and n.exact is False and len(emu.requests) == 1


def test_count_parses_the_documented_answer(emu: Any, client: Any) -> None:
    emu.queue_json("cohere", DOCUMENTED)
    n = client.count_tokens("cohere/command-a-03-2025", "tokenize me! :D")
    assert emu.last_request.json() == {"text": "tokenize me! :D", "model": "command-a-03-2025"}
    assert (n.count, n.exact, n.model) == (6, False, "command-a-03-2025")


def test_prompt_text_covers_tool_calls_results_tools_schema_and_documents(emu: Any, client: Any) -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "18C, sunny"},
    ]
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]  # fmt: skip
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    n = client.count_tokens(
        "cohere/command-a-03-2025",
        messages,
        tools=tools,
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        provider_options={"documents": ["Paris is in France.", {"data": {"title": "T", "snippet": "S"}}]},
    )
    text = emu.last_request.json()["text"]
    assert text == "\n".join(
        [
            "Weather in Paris?",
            'get_weather {"city":"Paris"}',
            "18C, sunny",
            '{"description":"Weather now","name":"get_weather","parameters":{"properties":{"city":{"type":"string"}},'
            '"type":"object"}}',
            '{"properties":{"answer":{"type":"string"}},"type":"object"}',
            "Paris is in France.",
            '{"data":{"snippet":"S","title":"T"}}',
        ]
    )
    assert n.count == len(emu_tokens(text)) and n.exact is False


def test_text_over_the_limit_is_split_at_line_breaks_and_summed(emu: Any, client: Any) -> None:
    line = "The quick brown fox jumps over the lazy dog. " * 20  # 900 characters
    messages = [{"role": "user", "content": line} for _ in range(100)]  # 100 lines, ~90,000 characters
    n = client.count_tokens("cohere/command-r-08-2024", messages)
    sent = [r.json()["text"] for r in emu.requests]
    assert [r.path for r in emu.requests] == ["/cohere/v1/tokenize"] * 2
    assert all(1 <= len(t) <= TOKENIZE_MAX_CHARS for t in sent)
    full = "\n".join([line] * 100)
    assert "".join(sent) == full and sent[1].startswith("\n")  # cut before a line break
    assert n == TokenCount(
        count=sum(len(emu_tokens(t)) for t in sent), exact=False, model="command-r-08-2024", provider="cohere"
    )


def test_text_chunks_fall_back_to_spaces_then_to_the_limit() -> None:
    assert text_chunks("abc def", limit=5) == ["abc", " def"]
    assert text_chunks("abcdefghij", limit=4) == ["abcd", "efgh", "ij"]
    assert text_chunks("a\nbcdefgh ij", limit=8) == ["a\nbcdefg", "h ij"]  # newline too early
    assert text_chunks("short") == ["short"]


def test_refused_before_any_request(emu: Any, client: Any) -> None:
    for model in ("cohere/embed-v4.0", "cohere/rerank-v3.5", "cohere/embed-english-v3.0"):
        with pytest.raises(llmkit.UnsupportedFeatureError, match="count_tokens: false"):
            client.count_tokens(model, "hi")
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]
    with pytest.raises(llmkit.UnsupportedFeatureError, match="token counting of image parts"):
        client.count_tokens("cohere/command-a-vision-07-2025", image)
    with pytest.raises(llmkit.ConfigError, match="needs messages with some text"):
        client.count_tokens(f"cohere/{CMD}", [{"role": "user", "content": ""}])
    with pytest.raises(llmkit.ConfigError, match="tools\\[0\\]"):
        client.count_tokens(f"cohere/{CMD}", "hi", tools=[{"type": "function", "function": {}}])
    assert emu.requests == []


def test_catalog_marks_only_command_models() -> None:
    flags = {m.id: m.capabilities.count_tokens for m in llmkit.models("cohere")}
    assert all(flag for mid, flag in flags.items() if mid.startswith("command"))
    assert not any(flag for mid, flag in flags.items() if mid.startswith(("embed", "rerank")))
    assert flags["command-a-03-2025"] is True and flags["embed-v4.0"] is False


def test_errors_are_typed(emu: Any, client: Any) -> None:
    with pytest.raises(llmkit.NotFoundError, match="model 'command-nope' not found") as nf:
        client.count_tokens("cohere/command-nope", "hi")  # not catalogued: Cohere decides
    assert nf.value.status == 404 and emu.last_request.json() == {"text": "hi", "model": "command-nope"}
    emu.queue_error("cohere", 429, "trial key limit")
    with pytest.raises(llmkit.RateLimitError, match="trial key limit"):
        client.count_tokens(f"cohere/{CMD}", "hi")
    with (
        emulator(require_key="right") as strict,
        strict.client(api_key="wrong") as c,
        pytest.raises(llmkit.AuthenticationError, match="invalid api token"),
    ):
        c.count_tokens(f"cohere/{CMD}", "hi")


def test_emulator_is_strict_like_cohere(emu: Any) -> None:
    assert _post(emu, "/v1/tokenize", {"text": "hi", "model": CMD}, key=None).json()["message"] == "no api key supplied"
    cases = [
        ({"text": "hi"}, "model"),
        ({"model": CMD}, "text"),
        ({"text": "hi", "model": CMD, "truncate": "END"}, "unknown field 'truncate'"),
        ({"text": 5, "model": CMD}, "text must be a string"),
        ({"text": "hi", "model": None}, "model must be a string"),
        ({"text": "", "model": CMD}, "between 1 and 65536 characters, got 0"),
        ({"text": "x" * (TOKENIZE_MAX_CHARS + 1), "model": CMD}, "got 65537"),
    ]
    for body, needle in cases:
        r = _post(emu, "/v1/tokenize", body)
        assert r.status_code == 400 and needle in r.json()["message"], (body, r.text)
    ok = _post(emu, "/v1/tokenize", {"text": "x" * TOKENIZE_MAX_CHARS, "model": CMD})
    assert ok.status_code == 200 and "".join(ok.json()["token_strings"]) == "x" * TOKENIZE_MAX_CHARS
    bad = _post(emu, "/v1/detokenize", {"tokens": [7], "model": CMD})
    assert bad.status_code == 400 and "token 7 is not in" in bad.json()["message"]
    assert "tokens must be a list of integers" in _post(emu, "/v1/detokenize", {"tokens": [True], "model": CMD}).text
    assert "unknown field 'x'" in _post(emu, "/v1/detokenize", {"tokens": [], "model": CMD, "x": 1}).text
    assert _post(emu, "/v1/tokenize", {"text": "hi", "model": "nope"}).status_code == 404


def test_native_tokenize_and_detokenize(emu: Any, client: Any) -> None:
    co = client.native("cohere")
    t = co.tokenize({"text": "tokenize me! :D", "model": "command-a-03-2025"})
    req = emu.last_request
    assert (req.method, req.path, req.headers["authorization"]) == ("POST", "/cohere/v1/tokenize", "Bearer test-key")
    assert req.json() == {"text": "tokenize me! :D", "model": "command-a-03-2025"}
    assert t.token_strings == ["toke", "nize", " me", "!", " :", "D"] and len(t.tokens) == 6
    assert t.meta is not None and t.meta.api_version is not None and t.meta.api_version.version == "1"
    d = co.detokenize(wire.DetokenizeRequest(tokens=t.tokens, model="command-a-03-2025"))
    assert emu.last_request.path == "/cohere/v1/detokenize"
    assert emu.last_request.json() == {"tokens": t.tokens, "model": "command-a-03-2025"}
    assert d.text == "tokenize me! :D"
    emu.queue_json("cohere", DOCUMENTED)
    assert co.tokenize({"text": "tokenize me! :D", "model": "command-a-03-2025"}).tokens == DOCUMENTED["tokens"]
    with pytest.raises(llmkit.BadRequestError, match="between 1 and 65536"):
        co.tokenize({"text": "", "model": "command-a-03-2025"})


def test_async_count_and_native(emu: Any) -> None:
    async def run() -> tuple[Any, Any, Any]:
        async with emu.async_client() as ac:
            n = await ac.count_tokens(f"cohere/{CMD}", CHAT)
            co = ac.native("cohere")
            t = await co.tokenize({"text": "Hello there", "model": CMD})
            d = await co.detokenize({"tokens": t.tokens, "model": CMD})
            return n, t, d

    n, t, d = asyncio.run(run())
    assert n == TokenCount(count=14, exact=False, model=CMD, provider="cohere", method="provider")
    assert t.token_strings == ["Hell", "o", " the", "re"] and d.text == "Hello there"
    assert [r.path for r in emu.requests] == ["/cohere/v1/tokenize", "/cohere/v1/tokenize", "/cohere/v1/detokenize"]
    assert emu.requests[0].json() == {"text": "You are terse.\nHello there, world!", "model": CMD}
