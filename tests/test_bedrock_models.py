"""Bedrock model listing on the control plane (`bedrock.{region}.amazonaws.com`, its own host):
SigV4 for service `bedrock` and the Bearer API key on the wire, the foundation models and the
inference profiles (paged by nextToken) merged with the catalog, filters, typed errors, the CLI."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest

import llmkit
from llmkit._registry import dialect, provider_spec
from llmkit._settings import resolve_settings
from llmkit._transport import ProviderTransport
from llmkit.cli import main
from llmkit.generated.wire import bedrock_converse as wire
from llmkit.overrides import bedrock as sigv4
from llmkit.testing import frozen_date
from llmkit.testing._bedrock_control_emu import foundation_models, inference_profiles
from llmkit.testing._bedrock_emu import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

SIG = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/\d{8}/(?P<region>[a-z0-9-]+)/bedrock/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=[0-9a-f]{64}$"
)


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
        "BEDROCK_CONTROL_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def _settings(emu: Any, **over: Any) -> dict[str, Any]:
    return {
        "base_url": emu.base_url("bedrock"),
        "control_base_url": emu.base_url("bedrock_control"),
        "aws_access_key_id": TEST_ACCESS_KEY_ID,
        "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
        "region": "us-west-2",
        "max_retries": 0,
        **over,
    }


def _client(emu: Any, **over: Any) -> llmkit.Client:
    return llmkit.Client(providers={"bedrock": _settings(emu, **over)})


def test_list_models_signs_for_bedrock_on_the_control_host(emu: Any) -> None:
    with _client(emu) as c:
        listed = c.list_models("bedrock")
    reqs = emu.requests
    assert [(r.method, r.path) for r in reqs] == [
        ("GET", "/bedrock-control/foundation-models"),
        ("GET", "/bedrock-control/inference-profiles"),
        ("GET", "/bedrock-control/inference-profiles"),
        ("GET", "/bedrock-control/inference-profiles"),
    ]
    assert all(r.provider == "bedrock_control" for r in reqs)  # never the runtime host
    profiles = inference_profiles("us-west-2")
    assert len(profiles) == 12  # the emulator pages 5 at a time: three pages
    assert reqs[0].query == {} and reqs[1].query == {"maxResults": "1000"}
    for r in reqs:
        m = SIG.match(r.headers["authorization"])
        assert m is not None and m.group("region") == "us-west-2"
        assert m.group("signed") == "host;x-amz-date"
        assert r.headers["host"] == f"127.0.0.1:{emu.port}" and r.body == b""
        assert r.headers["x-amz-date"].endswith("Z")
    ids = [m.id for m in listed]
    foundation = foundation_models("us-west-2")
    assert ids == [m["modelId"] for m in foundation] + [p["inferenceProfileId"] for p in profiles]
    assert len(ids) == len(set(ids))


def test_the_profile_pages_hand_back_next_token_exactly(emu: Any) -> None:
    summary = {
        "modelArn": "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0",
        "modelId": "amazon.nova-pro-v1:0",
        "modelName": "Nova Pro",
        "providerName": "Amazon",
        "inputModalities": ["TEXT", "IMAGE"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": {"status": "ACTIVE"},
    }
    profile = inference_profiles("us-west-2")[0]
    emu.queue_json("bedrock_control", {"modelSummaries": [summary]})
    emu.queue_json("bedrock_control", {"inferenceProfileSummaries": [profile], "nextToken": "opaque/+token=="})
    emu.queue_json("bedrock_control", {"inferenceProfileSummaries": []})
    with _client(emu) as c:
        listed = c.list_models("bedrock")
    assert [r.query for r in emu.requests] == [
        {},
        {"maxResults": "1000"},
        {"maxResults": "1000", "nextToken": "opaque/+token=="},
    ]
    assert [m.id for m in listed] == ["amazon.nova-pro-v1:0", profile["inferenceProfileId"]]
    nova = listed[0]
    catalog = next(m for m in llmkit.models("bedrock") if m.id == "amazon.nova-pro-v1:0")
    assert nova.in_catalog and nova.price == catalog.price and nova.context_window == catalog.context_window
    assert (nova.display_name, nova.owned_by) == ("Nova Pro", "Amazon")


def test_a_repeated_next_token_is_an_error_not_a_loop(emu: Any) -> None:
    emu.queue_json("bedrock_control", {"modelSummaries": []})
    for _ in range(2):
        emu.queue_json("bedrock_control", {"inferenceProfileSummaries": [], "nextToken": "same"})
    with _client(emu) as c, pytest.raises(llmkit.APIError, match="nextToken 'same' repeated"):
        c.list_models("bedrock")
    assert len(emu.requests) == 3


def test_catalog_merge_unknown_models_and_legacy_lifecycle(emu: Any) -> None:
    with _client(emu) as c, frozen_date("2026-11-01"):
        listed = {m.id: m for m in c.list_models("bedrock")}
    sonnet = listed["anthropic.claude-sonnet-4-5-20250929-v1:0"]  # a catalog alias of the global profile
    catalog = next(m for m in llmkit.models("bedrock") if m.id.startswith("global.anthropic.claude-sonnet-4-5"))
    assert sonnet.in_catalog and sonnet.price == catalog.price and sonnet.capabilities == catalog.capabilities
    assert sonnet.raw["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    image = listed["amazon.titan-image-generator-v2:0"]
    assert not image.in_catalog and image.price.input is None and image.context_window is None
    assert image.capabilities.image_generation and not image.capabilities.chat and not image.capabilities.streaming
    legacy = listed["anthropic.claude-v2:1"]
    assert not legacy.in_catalog and legacy.capabilities.chat
    assert legacy.lifecycle == llmkit._spec.Lifecycle(
        deprecated="2025-01-21", retires="2026-12-31", note="LEGACY in Bedrock's live listing"
    )
    assert legacy.status == "deprecated"  # listed on 2026-11-01
    profile = listed["us.anthropic.claude-sonnet-4-5-20250929-v1:0"]
    assert profile.in_catalog and profile.display_name == "US anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert profile.raw["type"] == "SYSTEM_DEFINED"


def test_the_api_key_form_is_a_bearer_token_on_the_control_host(emu: Any) -> None:
    settings = _settings(emu, api_key="bedrock-api-key-1")
    with llmkit.Client(providers={"bedrock": settings}) as c:
        c.list_models("bedrock")
    for r in emu.requests:
        assert r.headers["authorization"] == "Bearer bedrock-api-key-1" and "x-amz-date" not in r.headers


def test_async_list_models(emu: Any) -> None:
    async def go() -> list[str]:
        async with llmkit.AsyncClient(providers={"bedrock": _settings(emu, region="eu-west-3")}) as ac:
            return [m.id for m in await ac.list_models("bedrock")]

    ids = asyncio.run(go())
    assert "amazon.nova-pro-v1:0" in ids and "us.amazon.nova-pro-v1:0" in ids
    assert [r.path for r in emu.requests][:2] == [
        "/bedrock-control/foundation-models",
        "/bedrock-control/inference-profiles",
    ]
    assert all(SIG.match(r.headers["authorization"]).group("region") == "eu-west-3" for r in emu.requests)


def test_native_filters_and_typed_answers(emu: Any) -> None:
    with _client(emu) as c:
        native = c.native("bedrock")
        embeds = native.list_models(extra_query={"byOutputModality": "EMBEDDING"})
        assert isinstance(embeds, wire.ListFoundationModelsResponse)
        assert emu.last_request.query == {"byOutputModality": "EMBEDDING"}
        assert sorted(m.model_id for m in embeds.model_summaries) == [
            "amazon.titan-embed-text-v2:0",
            "cohere.embed-english-v3",
            "cohere.embed-multilingual-v3",
            "cohere.embed-v4:0",
        ]
        meta = native.list_models(extra_query={"byProvider": "meta"})
        assert {m.provider_name for m in meta.model_summaries} == {"Meta"}
        apps = native.list_inference_profiles(extra_query={"type": "APPLICATION"})
        assert isinstance(apps, wire.ListInferenceProfilesResponse) and apps.inference_profile_summaries == []
        assert emu.last_request.query == {"type": "APPLICATION"}
        with pytest.raises(llmkit.BadRequestError, match="Value 'AUDIO' at 'byOutputModality' failed to satisfy"):
            native.list_models(extra_query={"byOutputModality": "AUDIO"})
        with pytest.raises(llmkit.BadRequestError, match="at 'maxResults' failed to satisfy constraint"):
            native.list_inference_profiles(extra_query={"maxResults": "0"})
        with pytest.raises(llmkit.BadRequestError, match="Invalid pagination token"):
            native.list_inference_profiles(extra_query={"nextToken": "forged"})


def test_the_control_emulator_verifies_the_signature_strictly(emu: Any) -> None:
    url = emu.base_url("bedrock_control") + "/foundation-models"

    def send(service: str, secret: str = TEST_SECRET_ACCESS_KEY) -> httpx.Response:
        req = httpx.Request("GET", url)
        sigv4.sign(req, access_key=TEST_ACCESS_KEY_ID, secret_key=secret, region="us-east-1", service=service)
        return httpx.Client().send(req)

    assert send("bedrock").status_code == 200
    runtime = send("bedrock-runtime")
    assert runtime.status_code == 403 and "scoped to correct service: 'bedrock'" in runtime.json()["message"]
    assert runtime.headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    assert send("bedrock", "wrong-secret").status_code == 403
    bare = httpx.get(url)
    assert bare.status_code == 403 and bare.headers["x-amzn-errortype"].startswith("MissingAuthenticationToken")
    with _client(emu, aws_secret_access_key="not-the-secret") as c, pytest.raises(llmkit.AuthenticationError) as ei:
        c.list_models("bedrock")
    assert ei.value.status == 403 and "signature we calculated does not match" in str(ei.value)


def test_errors_from_the_control_plane_are_typed(emu: Any) -> None:
    emu.queue_error("bedrock_control", 429, "Too many requests, please wait before trying again.")
    with _client(emu) as c, pytest.raises(llmkit.RateLimitError, match="Too many requests"):
        c.list_models("bedrock")


def test_the_control_host_follows_the_region_and_not_base_url() -> None:
    spec = provider_spec("bedrock")
    given = {"api_key": "k", "region": "ap-southeast-2", "base_url": "https://vpce-1.bedrock-runtime.example"}
    t = ProviderTransport(resolve_settings(spec, given), dialect("bedrock_converse"))
    assert t.hosts.base_for("list_models") == "https://bedrock.ap-southeast-2.amazonaws.com"
    assert t.hosts.base_for("list_inference_profiles") == "https://bedrock.ap-southeast-2.amazonaws.com"
    assert t.hosts.base_for("converse") == "https://vpce-1.bedrock-runtime.example"
    assert t.hosts.trusts(httpx.URL("https://bedrock.ap-southeast-2.amazonaws.com/foundation-models"))
    assert not t.hosts.trusts(httpx.URL("https://bedrock.us-east-1.amazonaws.com/foundation-models"))
    t.close()


def test_a_bad_control_host_setting_is_refused_before_any_request(emu: Any) -> None:
    match = "control_base_url for 'bedrock' must start with http"
    with _client(emu, control_base_url="bedrock.internal") as c, pytest.raises(llmkit.ConfigError, match=match):
        c.list_models("bedrock")
    assert emu.requests == []


def test_cli_models_live_bedrock(emu: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-1")
    monkeypatch.setenv("BEDROCK_BASE_URL", emu.base_url("bedrock"))
    monkeypatch.setenv("BEDROCK_CONTROL_BASE_URL", emu.base_url("bedrock_control"))
    with frozen_date("2026-11-01"):  # LEGACY since 2025-01-21, end of life 2026-12-31
        assert main(["models", "--live", "bedrock", "--json"]) == 0
    out = {m["model"]: m for m in json.loads(capsys.readouterr().out)}
    assert out["bedrock/amazon.nova-pro-v1:0"]["in_catalog"] is True
    assert out["bedrock/anthropic.claude-v2:1"]["in_catalog"] is False
    assert out["bedrock/anthropic.claude-v2:1"]["lifecycle"]["status"] == "deprecated"
    assert emu.last_request.headers["authorization"] == "Bearer bedrock-api-key-1"
    with frozen_date("2026-11-01"):
        assert main(["models", "--live", "bedrock"]) == 0
    table = capsys.readouterr().out
    assert "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0" in table and "CATALOG" in table
    assert "deprecated 2025-01-21, retires 2026-12-31" in table
