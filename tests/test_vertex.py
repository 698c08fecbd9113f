"""Vertex AI on the wire: Gemini and Claude publishers behind one provider id, hosts by location,
access tokens, service-account JWTs exchanged at a local fake token endpoint (refreshed once
under concurrency, refetched on a 401), express mode, typed errors and refusals before any call."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import llmkit
from llmkit._registry import provider_spec
from llmkit._settings import resolve_settings
from llmkit.overrides import vertex as vx

WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


@pytest.fixture(autouse=True)
def _no_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GOOGLE_CLOUD_PROJECT",
        "ANTHROPIC_VERTEX_PROJECT_ID",
        "GOOGLE_CLOUD_LOCATION",
        "CLOUD_ML_REGION",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "VERTEX_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


class TokenServer:
    """A fake OAuth token endpoint that verifies the JWT assertion with the key's public half."""

    def __init__(self, delay: float = 0.0) -> None:
        self.count = 0
        self.claims: list[dict[str, Any]] = []
        self.delay = delay
        owner = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                return

            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
                ok = owner.check(form, self.headers.get("content-type", ""))
                time.sleep(owner.delay)
                body = json.dumps(
                    {"access_token": f"tok-{owner.count}", "expires_in": 3600, "token_type": "Bearer"}
                    if ok
                    else {"error": "invalid_grant"}
                ).encode()
                self.send_response(200 if ok else 400)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def check(self, form: dict[str, list[str]], content_type: str) -> bool:
        if content_type != "application/x-www-form-urlencoded" or form.get("grant_type") != [vx.JWT_GRANT]:
            return False
        head, claims, sig = form["assertion"][0].split(".")
        pad = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))  # noqa: E731
        KEY.public_key().verify(pad(sig), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
        assert json.loads(pad(head)) == {"alg": "RS256", "typ": "JWT", "kid": "key-1"}
        self.claims.append(json.loads(pad(claims)))
        self.count += 1
        return True

    def key(self) -> dict[str, Any]:
        return {
            "type": "service_account",
            "project_id": "proj-sa",
            "private_key_id": "key-1",
            "private_key": PEM,
            "client_email": "bot@proj-sa.iam.gserviceaccount.com",
            "token_uri": self.uri,
        }


@pytest.fixture
def tokens() -> Iterator[TokenServer]:
    ts = TokenServer(delay=0.05)
    yield ts
    ts.server.shutdown()
    ts.server.server_close()


def _client(emu: Any, **over: Any) -> llmkit.Client:
    settings = {
        "base_url": emu.base_url("vertex"),
        "project": "proj-1",
        "location": "us-east5",
        "max_retries": 0,
        **over,
    }
    if "credentials" not in over and "api_key" not in over:
        settings.setdefault("access_token", "tok-given")
    return llmkit.Client(providers={"vertex": settings})


def test_gemini_chat_on_the_wire(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.chat(
            "vertex/gemini-2.5-flash",
            [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Hi there"}],
            max_tokens=50,
        )
    assert resp.text == "You said: Hi there" and resp.provider == "vertex"
    assert resp.cost_usd == pytest.approx((4 * 0.30 + 4 * 2.50) / 1e6)
    req = emu.last_request
    assert (
        req.path
        == "/vertex/v1/projects/proj-1/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    assert req.headers["authorization"] == "Bearer tok-given"
    assert req.json() == {
        "contents": [{"role": "user", "parts": [{"text": "Hi there"}]}],
        "systemInstruction": {"parts": [{"text": "Be terse"}]},
        "generationConfig": {"maxOutputTokens": 50},
    }


def test_claude_chat_on_the_wire(emu: Any) -> None:
    with _client(emu) as c:
        resp = c.chat(
            "vertex/claude-sonnet-4-5@20250929",
            [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Hi there"}],
            max_tokens=100,
        )
    assert resp.text == "You said: Hi there" and resp.model == "claude-sonnet-4-5@20250929"
    assert resp.cost_usd == pytest.approx((4 * 3.0 + 4 * 15.0) / 1e6)
    req = emu.last_request
    assert (
        req.path
        == "/vertex/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
    )
    assert (
        req.body
        == json.dumps(
            {
                "anthropic_version": "vertex-2023-10-16",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": "Hi there"}],
                "system": "Be terse",
            },
            separators=(",", ":"),
        ).encode()
    )


@pytest.mark.parametrize(
    ("model", "verb", "query"),
    [
        ("claude-haiku-4-5@20251001", "streamRawPredict", {}),
        ("gemini-2.5-flash", "streamGenerateContent", {"alt": "sse"}),
    ],
)
def test_streamed_tool_calls_for_both_publishers(emu: Any, model: str, verb: str, query: dict[str, str]) -> None:
    with _client(emu) as c:
        final = c.chat(f"vertex/{model}", "Weather in Paris?", tools=[WEATHER], stream=True).get_final_response()
        assert final.tool_calls[0].name == "get_weather" and final.tool_calls[0].arguments == {"city": "Paris"}
        assert final.finish_reason == "tool_calls"
        assert emu.last_request.path.endswith(f"/models/{model}:{verb}") and emu.last_request.query == query
        follow = c.chat(
            f"vertex/{model}",
            [
                {"role": "user", "content": "Weather in Paris?"},
                final.message,
                {"role": "tool", "tool_call_id": final.tool_calls[0].id, "name": "get_weather", "content": "sunny"},
            ],
            tools=[WEATHER],
        )
        assert follow.text.startswith("The tool returned: ")
    if verb == "streamRawPredict":
        assert json.loads(emu.requests[0].body)["stream"] is True


def test_hosts_follow_the_location() -> None:
    spec = provider_spec("vertex")
    for loc, base in [
        ("global", "https://aiplatform.googleapis.com/v1"),
        ("us", "https://aiplatform.us.rep.googleapis.com/v1"),
        ("us-central1", "https://us-central1-aiplatform.googleapis.com/v1"),
    ]:
        s = resolve_settings(spec, {"access_token": "t", "location": loc})
        vx.auth(s)
        assert s.base_url == base
    with pytest.raises(llmkit.ConfigError, match="bad location"):
        vx.auth(resolve_settings(spec, {"access_token": "t", "location": "x.evil.com/"}))
    with pytest.raises(llmkit.ConfigError, match="no credentials for 'vertex'"):
        vx.auth(resolve_settings(spec, {}))


def test_credentials_forms(tmp_path: Path, tokens: TokenServer) -> None:
    key = tokens.key()
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(key))
    for form in (key, json.dumps(key), str(path), str(key)):
        assert vx.load_credentials(form)["client_email"] == key["client_email"]
    with pytest.raises(llmkit.ConfigError, match="type 'authorized_user' are not supported"):
        vx.load_credentials({"type": "authorized_user"})
    with pytest.raises(llmkit.ConfigError, match="cannot read vertex credentials"):
        vx.load_credentials(str(tmp_path / "missing.json"))


def test_service_account_token_is_fetched_once_under_concurrency(emu: Any, tokens: TokenServer) -> None:
    # max_retries: the emulator's listen backlog is small, so a burst of connects may be reset
    # and retried; the token is still fetched once.
    with _client(emu, credentials=tokens.key(), max_retries=4) as c:
        results: list[str] = []

        def call() -> None:
            results.append(c.chat("vertex/gemini-2.5-flash", "Hi").text)

        threads = [threading.Thread(target=call) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == ["You said: Hi"] * 16
    assert tokens.count == 1
    assert {r.headers["authorization"] for r in emu.requests} == {"Bearer tok-1"}
    claims = tokens.claims[0]
    assert (claims["iss"], claims["aud"], claims["scope"]) == (tokens.key()["client_email"], tokens.uri, vx.SCOPE)
    assert claims["exp"] - claims["iat"] == 3600


def test_async_tasks_share_one_token_fetch(emu: Any, tokens: TokenServer) -> None:
    async def main() -> list[str]:
        settings = {"base_url": emu.base_url("vertex"), "project": "p", "credentials": tokens.key(), "max_retries": 0}
        async with llmkit.AsyncClient(providers={"vertex": settings}) as ac:
            answers = await asyncio.gather(*(ac.chat("vertex/claude-haiku-4-5@20251001", "Hi") for _ in range(12)))
            return [a.text for a in answers]

    assert asyncio.run(main()) == ["You said: Hi"] * 12
    assert tokens.count == 1


def test_token_refreshes_before_expiry_and_once_on_401(emu: Any, tokens: TokenServer) -> None:
    now = [1_000_000.0]
    s = resolve_settings(provider_spec("vertex"), {"credentials": tokens.key(), "project": "p"})
    a = vx.auth(s, clock=lambda: now[0])
    assert isinstance(a, vx.ServiceAccountAuth)
    assert a.sync_token().value.get() == "tok-1"
    now[0] += 3600 - 61
    assert a.sync_token().value.get() == "tok-1"  # still more than a minute left
    now[0] += 2
    assert a.sync_token().value.get() == "tok-2"  # refreshed a minute before expiry
    emu.require_key = "tok-4"  # the next token (tok-3) is refused with 401, the one after accepted
    with _client(emu, credentials=tokens.key()) as c:
        assert c.chat("vertex/gemini-2.5-flash", "Hi").text == "You said: Hi"
    assert [r.headers["authorization"] for r in emu.requests] == ["Bearer tok-3", "Bearer tok-4"]
    assert tokens.count == 4


def test_express_mode_with_an_api_key(emu: Any) -> None:
    with emu.client() as c:
        assert c.chat("vertex/gemini-2.5-flash", "Hi").text == "You said: Hi"
    req = emu.last_request
    assert req.path == "/vertex/v1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert req.headers["x-goog-api-key"] == emu.api_key and "authorization" not in req.headers


def test_refusals_before_any_request(emu: Any) -> None:
    with _client(emu) as c:
        with pytest.raises(llmkit.UnsupportedFeatureError) as ei:
            c.chat("vertex/claude-sonnet-4-5@20250929", "Hi", seed=1)
        assert ei.value.code == "seed"
        with pytest.raises(llmkit.UnsupportedFeatureError):
            c.count_tokens("vertex/claude-sonnet-4-5@20250929", "Hi")
    with emu.client() as c, pytest.raises(llmkit.ConfigError, match="no Google Cloud project"):
        c.chat("vertex/claude-sonnet-4-5@20250929", "Hi")
    assert emu.requests == []


def test_count_tokens_and_errors_of_both_shapes(emu: Any) -> None:
    with _client(emu) as c:
        assert c.count_tokens("vertex/gemini-2.5-flash", "hello there world") == 3
        assert emu.last_request.json() == {"contents": [{"role": "user", "parts": [{"text": "hello there world"}]}]}
        emu.queue_json(  # Google-shaped, no RetryInfo (a retry hint would hold the next call back)
            "vertex",
            {
                "error": {
                    "code": 429,
                    "message": "Resource exhausted, please try again later.",
                    "status": "RESOURCE_EXHAUSTED",
                }
            },
            429,
        )
        with pytest.raises(llmkit.RateLimitError, match="Resource exhausted"):
            c.chat("vertex/gemini-2.5-flash", "Hi")
        emu.queue_json("vertex", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, 529)
        with pytest.raises(llmkit.ServerError, match="Overloaded"):
            c.chat("vertex/claude-sonnet-4-5@20250929", "Hi")
