"""Bedrock Converse on the wire: SigV4 (byte-exact against AWS's vector and botocore), bearer
keys, request mapping, responses, binary event streams and their exceptions, typed errors."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import llmkit
from llmkit._eventstream import encode_message
from llmkit._registry import provider_spec
from llmkit._settings import resolve_settings
from llmkit.dialects._base import encode_path_segment
from llmkit.overrides import bedrock as sigv4
from llmkit.testing._bedrock_emu import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    TEST_SESSION_TOKEN,
    TEST_TEMP_ACCESS_KEY_ID,
    event_frame,
    exception_frame,
)

SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
M = f"bedrock/{SONNET}"
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "BEDROCK_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def _sig_client(emu: Any, **over: Any) -> llmkit.Client:
    settings = {
        "base_url": emu.base_url("bedrock"),
        "aws_access_key_id": TEST_ACCESS_KEY_ID,
        "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
        "region": "us-west-2",
        "max_retries": 0,
        **over,
    }
    return llmkit.Client(providers={"bedrock": settings})


@pytest.fixture
def bc(emu: Any) -> Iterator[llmkit.Client]:
    c = _sig_client(emu)
    yield c
    c.close()


# -- SigV4 ----------------------------------------------------------------------------------


def test_sigv4_matches_the_aws_test_suite_vector() -> None:
    # aws-sig-v4-test-suite "get-vanilla": the published Authorization header, byte for byte.
    req = httpx.Request("GET", "https://example.amazonaws.com/")
    for name in list(req.headers):
        if name.lower() != "host":
            del req.headers[name]
    sigv4.sign(
        req,
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        service="service",
        now=dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC),
    )
    assert req.headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )
    assert req.headers["x-amz-date"] == "20150830T123600Z"


def test_sigv4_is_byte_exact_with_botocore_over_an_encoded_arn() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    arn = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    url = f"https://bedrock-runtime.us-west-2.amazonaws.com/model/{encode_path_segment(arn)}/converse"
    body = b'{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}'
    boto = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret/key", "session-token"), "bedrock", "us-west-2").add_auth(boto)
    when = dt.datetime.strptime(boto.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    ours = httpx.Request("POST", url, headers={"Content-Type": "application/json"}, content=body)
    sigv4.sign(
        ours,
        access_key="AKIDEXAMPLE",
        secret_key="secret/key",
        region="us-west-2",
        session_token="session-token",
        now=when,
    )
    assert ours.headers["authorization"] == boto.headers["Authorization"]
    assert ours.headers["x-amz-security-token"] == "session-token"
    assert (
        "/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"
        in (ours.headers["authorization"])
    )


def test_canonical_uri_encodes_the_encoded_model_id_again() -> None:
    creq = sigv4.canonical_request(
        "POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", "", {"host": "h"}, ["host"], b""
    )
    assert creq.splitlines()[1] == "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse"


def test_region_fills_the_host_and_bad_regions_are_refused() -> None:
    spec = provider_spec("bedrock")
    s = resolve_settings(spec, {"api_key": "k", "region": "eu-west-1"})
    sigv4.auth(s)
    assert s.base_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    default = resolve_settings(spec, {"api_key": "k"})
    sigv4.auth(default)
    assert default.base_url == "https://bedrock-runtime.us-east-1.amazonaws.com"
    with pytest.raises(llmkit.ConfigError, match="bad region 'evil.com/x'"):
        sigv4.auth(resolve_settings(spec, {"api_key": "k", "region": "evil.com/x"}))
    with pytest.raises(llmkit.ConfigError, match="aws_access_key_id"):
        sigv4.auth(resolve_settings(spec, {}))


def test_signed_chat_on_the_wire(emu: Any, bc: llmkit.Client) -> None:
    resp = bc.chat(
        M,
        [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi there"}],
        max_tokens=100,
        temperature=0.2,
        stop=["END"],
    )
    assert resp.text == "You said: Hi there"
    assert resp.finish_reason == "stop" and resp.raw_finish_reason == "end_turn"
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (4, 4)
    assert resp.cost_usd == pytest.approx((4 * 3.0 + 4 * 15.0) / 1e6)
    req = emu.last_request
    assert req.path == "/bedrock/model/global.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    assert req.json() == {
        "messages": [{"role": "user", "content": [{"text": "Hi there"}]}],
        "system": [{"text": "Be terse."}],
        "inferenceConfig": {"maxTokens": 100, "temperature": 0.2, "stopSequences": ["END"]},
    }
    auth = req.headers["authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={TEST_ACCESS_KEY_ID}/")
    assert "/us-west-2/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" in auth
    assert "x-amz-security-token" not in req.headers


def test_temporary_credentials_send_the_session_token(emu: Any) -> None:
    with _sig_client(emu, aws_access_key_id=TEST_TEMP_ACCESS_KEY_ID, aws_session_token=TEST_SESSION_TOKEN) as c:
        assert c.chat(M, "Hi").text == "You said: Hi"
    assert emu.last_request.headers["x-amz-security-token"] == TEST_SESSION_TOKEN


def test_a_wrong_secret_is_the_signature_error(emu: Any) -> None:
    with _sig_client(emu, aws_secret_access_key="not-the-secret") as c, pytest.raises(llmkit.AuthenticationError) as ei:
        c.chat(M, "Hi")
    assert ei.value.status == 403
    assert "signature we calculated does not match" in str(ei.value)
    # The body holds only the message; the type comes from `x-amzn-ErrorType` (text before `:`).
    assert ei.value.code == "InvalidSignatureException"


def test_api_key_from_env_is_a_bearer_token(emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)  # the key wins over SigV4 credentials
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
    with llmkit.Client(providers={"bedrock": {"base_url": emu.base_url("bedrock"), "max_retries": 0}}) as c:
        assert c.chat(M, "Hi").text == "You said: Hi"
    assert emu.last_request.headers["authorization"] == "Bearer bedrock-api-key-1"
    assert "x-amz-date" not in emu.last_request.headers


# -- request mapping ---------------------------------------------------------------------------


def test_content_tools_cache_points_and_results_map_to_converse(emu: Any, bc: llmkit.Client) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(png).decode()}},
                {"type": "document", "url": "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4").decode()},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "tooluse_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "tooluse_1", "content": "sunny"},
    ]
    resp = bc.chat(M, messages, tools=[{**WEATHER, "cache_control": {"type": "ephemeral"}}], tool_choice="auto")
    assert resp.text == "The tool returned: sunny"
    assert emu.last_request.json() == {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"text": "Look"},
                    {"image": {"format": "png", "source": {"bytes": base64.b64encode(png).decode()}}},
                    {
                        "document": {
                            "format": "pdf",
                            "name": "document-1",
                            "source": {"bytes": base64.b64encode(b"%PDF-1.4").decode()},
                        }
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}],
            },
            {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "sunny"}]}}]},
        ],
        "system": [{"text": "Long rules"}, {"cachePoint": {"type": "default"}}],
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "inputSchema": {"json": WEATHER["parameters"]},
                    }
                },
                {"cachePoint": {"type": "default"}},
            ],
            "toolChoice": {"auto": {}},
        },
    }


def test_cache_points_write_then_read(emu: Any, bc: llmkit.Client) -> None:
    sys_msg = {
        "role": "system",
        "content": [{"type": "text", "text": "one two three four", "cache_control": {"type": "ephemeral"}}],
    }
    first = bc.chat(M, [sys_msg, {"role": "user", "content": "Hi"}])
    second = bc.chat(M, [sys_msg, {"role": "user", "content": "Hi"}])
    assert (first.usage.cache_write_tokens, first.usage.cached_input_tokens) == (4, 0)
    assert (second.usage.cache_write_tokens, second.usage.cached_input_tokens) == (0, 4)
    assert second.usage.input_tokens == first.usage.input_tokens  # unified input includes cached tokens
    assert second.cost_usd == pytest.approx((1 * 3.0 + 4 * 0.3 + second.usage.output_tokens * 15.0) / 1e6)


def test_reasoning_round_trip_and_structured_output(emu: Any, bc: llmkit.Client) -> None:
    first = bc.chat(M, "Think", reasoning_budget=2048, max_tokens=4096)
    assert emu.last_request.json()["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    }
    reasoning = first.message.content[0]
    assert isinstance(reasoning, llmkit.ReasoningPart) and reasoning.signature
    bc.chat(
        M,
        [{"role": "user", "content": "Think"}, first.message, {"role": "user", "content": "More"}],
        reasoning_budget=2048,
    )
    sent = emu.last_request.json()["messages"][1]["content"][0]
    assert sent == {"reasoningContent": {"reasoningText": {"text": reasoning.text, "signature": reasoning.signature}}}
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    out = bc.chat(
        M, "City of Paris", response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}
    )
    assert json.loads(out.text) == {"city": "Paris"}
    assert emu.last_request.json()["outputConfig"] == {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": json.dumps(schema), "name": "place"}},
        }
    }


@pytest.mark.parametrize(
    ("model", "kwargs", "code"),
    [
        (M, {"seed": 1}, "seed"),
        (M, {"tools": [WEATHER], "tool_choice": "none"}, "tool_choice"),
        (M, {"tools": [WEATHER], "parallel_tool_calls": False}, "parallel_tool_calls"),
        (M, {"response_format": {"type": "json_object"}}, "json_object"),
        ("bedrock/us.meta.llama3-3-70b-instruct-v1:0", {"reasoning_effort": "low"}, "reasoning"),
        (
            "bedrock/amazon.nova-micro-v1:0",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}],
                    }
                ]
            },
            "vision",
        ),
        (
            M,
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}
                ]
            },
            "image_url",
        ),
    ],
)
def test_missing_features_raise_before_any_request(
    emu: Any, bc: llmkit.Client, model: str, kwargs: dict[str, Any], code: str
) -> None:
    messages = kwargs.pop("messages", "Hi")
    with pytest.raises(llmkit.UnsupportedFeatureError) as ei:
        bc.chat(model, messages, **kwargs)
    assert ei.value.code == code
    assert emu.requests == []


def test_count_tokens(emu: Any, bc: llmkit.Client) -> None:
    assert bc.count_tokens(M, [{"role": "system", "content": "Rules"}, {"role": "user", "content": "hello there"}]) == 3
    assert emu.last_request.path.endswith("/count-tokens")
    assert emu.last_request.json() == {
        "input": {
            "converse": {
                "messages": [{"role": "user", "content": [{"text": "hello there"}]}],
                "system": [{"text": "Rules"}],
            }
        }
    }


# -- streams ---------------------------------------------------------------------------------


def test_stream_tool_call_on_the_wire(emu: Any, bc: llmkit.Client) -> None:
    stream = bc.chat(M, "Weather in Paris?", tools=[WEATHER], stream=True)
    events = list(stream)
    final = stream.get_final_response()
    assert [type(e).__name__ for e in events][:2] == ["ToolCallStart", "ToolCallDelta"]
    assert final.tool_calls[0].name == "get_weather" and final.tool_calls[0].arguments == {"city": "Paris"}
    assert final.finish_reason == "tool_calls"
    req = emu.last_request
    assert req.path == "/bedrock/model/global.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    assert req.headers["accept"] == "application/vnd.amazon.eventstream"


def test_stream_text_and_reasoning_split_anywhere(emu: Any, bc: llmkit.Client) -> None:
    frames = b"".join(
        [
            event_frame("messageStart", {"role": "assistant", "p": "abcdef"}),
            event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hmm"}}}),
            event_frame(
                "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "sig"}}}
            ),
            event_frame("contentBlockStop", {"contentBlockIndex": 0}),
            event_frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Hel"}, "p": "abc"}),
            event_frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "lo"}}),
            event_frame("contentBlockStop", {"contentBlockIndex": 1}),
            event_frame("messageStop", {"stopReason": "max_tokens"}),
            event_frame(
                "metadata",
                {
                    "usage": {
                        "inputTokens": 5,
                        "outputTokens": 2,
                        "totalTokens": 10,
                        "cacheReadInputTokens": 3,
                        "cacheWriteInputTokens": 0,
                    },
                    "metrics": {"latencyMs": 1},
                },
            ),
        ]
    )
    emu.queue_stream(
        "bedrock",
        [frames[i : i + 7] for i in range(0, len(frames), 7)],
        content_type="application/vnd.amazon.eventstream",
    )
    with bc.chat(M, "Hi", stream=True) as stream:
        assert "".join(stream.text_stream) == "Hello"
        final = stream.get_final_response()
    assert final.message.content == [llmkit.ReasoningPart(text="hmm", signature="sig"), llmkit.TextPart(text="Hello")]
    assert final.finish_reason == "length"
    assert (final.usage.input_tokens, final.usage.cached_input_tokens, final.usage.output_tokens) == (8, 3, 2)


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("throttlingException", llmkit.RateLimitError),
        ("validationException", llmkit.BadRequestError),
        ("modelStreamErrorException", llmkit.ServerError),
        ("serviceUnavailableException", llmkit.ServerError),
    ],
)
def test_stream_exceptions_are_typed(emu: Any, bc: llmkit.Client, kind: str, error: type[Exception]) -> None:
    emu.queue_stream(
        "bedrock",
        [
            event_frame("messageStart", {"role": "assistant"}),
            exception_frame(kind, "Too many requests, please wait before trying again."),
        ],
        content_type="application/vnd.amazon.eventstream",
    )
    with pytest.raises(error) as ei:
        bc.chat(M, "Hi", stream=True).get_final_response()
    assert f"{kind}: Too many requests" in str(ei.value)


def test_stream_corruption_and_cut_streams_raise(emu: Any, bc: llmkit.Client) -> None:
    good = event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}})
    bad = good[:-1] + bytes([good[-1] ^ 0xFF])
    emu.queue_stream("bedrock", [bad], content_type="application/vnd.amazon.eventstream")
    with pytest.raises(llmkit.StreamError, match="message CRC32 mismatch"):
        bc.chat(M, "Hi", stream=True).get_final_response()
    emu.queue_stream("bedrock", [good], content_type="application/vnd.amazon.eventstream")
    with pytest.raises(llmkit.StreamError, match="before `messageStop`"):
        bc.chat(M, "Hi", stream=True).get_final_response()
    err = encode_message({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b"")
    emu.queue_stream("bedrock", [err], content_type="application/vnd.amazon.eventstream")
    with pytest.raises(llmkit.APIError, match="boom"):
        bc.chat(M, "Hi", stream=True).get_final_response()


# -- errors and async ------------------------------------------------------------------------


def test_http_errors_are_typed(emu: Any, bc: llmkit.Client) -> None:
    emu.queue_error("bedrock", 429, "Too many requests, please wait before trying again.")
    with pytest.raises(llmkit.RateLimitError) as ei:
        bc.chat(M, "Hi")
    assert ei.value.request_id == "00000000-0000-4000-8000-emulator0000"
    assert "Too many requests" in str(ei.value)
    assert ei.value.code == "ThrottlingException"
    with pytest.raises(llmkit.BadRequestError, match="model identifier is invalid") as bad:
        bc.chat("bedrock/anthropic.claude-nonexistent-v1:0", "Hi")
    assert bad.value.code == "ValidationException"


def test_async_chat_and_stream(emu: Any) -> None:
    async def main() -> tuple[str, str]:
        settings = {
            "base_url": emu.base_url("bedrock"),
            "aws_access_key_id": TEST_ACCESS_KEY_ID,
            "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
            "max_retries": 0,
        }
        async with llmkit.AsyncClient(providers={"bedrock": settings}) as ac:
            plain = await ac.chat(M, "Hi async")
            stream = await ac.chat(M, "Hi stream", stream=True)
            final = await stream.get_final_response()
            return plain.text, final.text

    assert asyncio.run(main()) == ("You said: Hi async", "You said: Hi stream")
