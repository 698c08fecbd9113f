"""Transport security: redirects never followed, TLS verified (custom CA bundle, an explicit
and warned `insecure_` opt-out), no path or query injection through model ids, and bad input
refused before anything is sent."""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

import llmkit
from llmkit._constants import COMMON_SETTINGS, INSECURE_TLS_SETTING
from llmkit._registry import dialect, provider_spec
from llmkit._settings import InsecureTLSWarning, resolve_settings
from llmkit._transport import ProviderTransport
from llmkit.dialects._base import WireRequest
from tests._faulty import MODES, FaultyServer, by_stream, call, openai_at, openai_body, openai_sse, respond, stream

OK = by_stream(respond(200, openai_body("secure")), stream(openai_sse(["sec", "ure"])))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_never_followed(mode: str, status: int) -> None:
    with FaultyServer(OK) as other:
        target = other.url + "/v1/chat/completions"
        with FaultyServer(respond(status, b"", {"location": target})) as srv:
            with pytest.raises(
                llmkit.APIError, match=f"answered HTTP {status}, a redirect to {target}; llmkit never follows"
            ) as info:
                call(mode, openai_at(srv.url, max_retries=2), sleeps=[])
            assert srv.count() == 1  # not retried either
        assert other.count() == 0  # the key never reached the other host
    assert info.value.status == status


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx, cert


@pytest.mark.parametrize("mode", MODES)
def test_tls_is_verified_by_default(mode: str, tls: tuple[ssl.SSLContext, Path]) -> None:
    with FaultyServer(OK, ssl_context=tls[0]) as srv:
        assert srv.url.startswith("https://")
        with pytest.raises(llmkit.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            call(mode, openai_at(srv.url, max_retries=0))
        assert srv.count() == 0  # no request (and no key) went over an unverified connection


@pytest.mark.parametrize("mode", MODES)
def test_a_custom_ca_bundle_per_provider(mode: str, tls: tuple[ssl.SSLContext, Path]) -> None:
    with FaultyServer(OK, ssl_context=tls[0]) as srv:
        assert call(mode, openai_at(srv.url, verify=str(tls[1]))) == "secure"
        assert call(mode, openai_at(srv.url, verify=ssl.create_default_context(cafile=str(tls[1])))) == "secure"
        assert srv.count() == 2


def test_turning_verification_off_needs_the_insecure_name_and_warns(tls: tuple[ssl.SSLContext, Path]) -> None:
    with FaultyServer(OK, ssl_context=tls[0]) as srv:
        for off in (False, "false"):
            with pytest.raises(llmkit.ConfigError, match=f"verify=False is not accepted.*{INSECURE_TLS_SETTING}=True"):
                call("sync", openai_at(srv.url, verify=off))
        blind = ssl.create_default_context()
        blind.check_hostname = False
        blind.verify_mode = ssl.CERT_NONE
        with pytest.raises(llmkit.ConfigError, match="does not verify certificates"):
            call("sync", openai_at(srv.url, verify=blind))
        with pytest.raises(llmkit.ConfigError, match="CA bundle that does not exist"):
            call("sync", openai_at(srv.url, verify="/nonexistent/ca.pem"))
        with pytest.raises(llmkit.ConfigError, match=f"{INSECURE_TLS_SETTING} for 'openai' must be True or False"):
            call("sync", openai_at(srv.url, **{INSECURE_TLS_SETTING: "yes"}))
        assert srv.count() == 0
        with pytest.warns(InsecureTLSWarning, match="TLS certificate verification is OFF for 'openai'"):
            assert call("sync", openai_at(srv.url, **{INSECURE_TLS_SETTING: True})) == "secure"
        assert srv.count() == 1
    # The only common setting that can weaken TLS says so in its name.
    assert sorted(n for n in COMMON_SETTINGS if any(w in n for w in ("verify", "tls", "ssl", "cert"))) == [
        INSECURE_TLS_SETTING,
        "verify",
    ]


def test_model_ids_cannot_escape_their_path_segment() -> None:
    with FaultyServer(respond(404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})) as srv:
        c = llmkit.Client(providers={"gemini": {"api_key": "g", "base_url": srv.url + "/v1beta", "max_retries": 0}})
        for model in ("../../../admin?x=1#frag", "a/../../b", "%2e%2e"):
            with pytest.raises(llmkit.NotFoundError):
                c.chat(f"gemini/{model}", "hi")
        c.close()
        paths = [r.path for r in srv.requests]
    assert paths == [
        "/v1beta/models/..%2F..%2F..%2Fadmin%3Fx%3D1%23frag:generateContent",
        "/v1beta/models/a%2F..%2F..%2Fb:generateContent",
        "/v1beta/models/%252e%252e:generateContent",
    ]


@pytest.mark.parametrize(
    "path", ["/model/../converse", "/model/%2E%2E/converse", "/model/./x", "/chat?admin=1", "/chat#x", "/.."]
)
def test_the_transport_refuses_unencoded_path_parts(path: str) -> None:
    with FaultyServer(respond(200, openai_body("x"))) as srv:
        t = ProviderTransport(
            resolve_settings(provider_spec("openai"), {"api_key": "k", "base_url": srv.url}), dialect("openai_chat")
        )
        with pytest.raises(llmkit.ConfigError, match="must be percent-encoded"):
            t.send(WireRequest(method="POST", path=path, body={}))
        with (
            pytest.raises(llmkit.ConfigError, match="must be percent-encoded"),
            t.stream(WireRequest(method="POST", path=path, body={})),
        ):
            pass
        t.close()
        assert srv.count() == 0


@pytest.mark.parametrize(
    ("model", "kwargs", "pattern"),
    [
        ("openai/gpt-4o-mini", {"max_tokens": -5}, "max_tokens must be a positive integer"),
        ("anthropic/claude-sonnet-4-5", {"max_tokens": 0}, "max_tokens must be a positive integer"),
        (
            "openai/gpt-4o-mini",
            {"extra_body": {"logit_bias": {1, 2}}},
            "cannot be sent as JSON .*set is not JSON serializable",
        ),
        ("gemini/gemini-2.5-flash", {"extra_body": {"x": float("nan")}}, "cannot be sent as JSON .*Out of range float"),
        (
            "openai/gpt-4o-mini",
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "f", "parameters": {"type": "object", "default": dt.date(2024, 1, 1)}},
                    }
                ]
            },
            "cannot be sent as JSON .*date is not JSON serializable",
        ),
        ("nowhere/model", {}, "unknown provider 'nowhere'"),
        ("gpt-4o", {}, "expected 'provider/model'"),
    ],
)
def test_bad_input_is_refused_before_any_request(model: str, kwargs: dict[str, object], pattern: str) -> None:
    with FaultyServer(OK) as srv:
        providers = {
            p: {"api_key": "k", "base_url": srv.url, "max_retries": 0} for p in ("openai", "anthropic", "gemini")
        }
        with llmkit.Client(providers=providers) as c:
            with pytest.raises(llmkit.ConfigError, match=pattern):
                c.chat(model, "hi", **kwargs)
            with pytest.raises(llmkit.ConfigError, match=pattern):
                c.chat(model, "hi", stream=True, **kwargs)
        assert srv.count() == 0


TOOL_HISTORY = [
    {"role": "user", "content": "when?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"when": dt.datetime(2024, 1, 1)}}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "ok"},
]


@pytest.mark.parametrize(
    "model",
    [
        "anthropic/claude-sonnet-4-5",
        "gemini/gemini-2.5-flash",
        "openai/gpt-4o-mini",
    ],
)
def test_non_json_tool_arguments_are_a_config_error(model: str) -> None:
    with FaultyServer(OK) as srv:
        providers = {
            p: {"api_key": "k", "base_url": srv.url, "max_retries": 0} for p in ("openai", "anthropic", "gemini")
        }
        with (
            llmkit.Client(providers=providers) as c,
            pytest.raises(llmkit.ConfigError, match="datetime is not JSON serializable"),
        ):
            c.chat(model, TOOL_HISTORY, max_tokens=10)
        assert srv.count() == 0
