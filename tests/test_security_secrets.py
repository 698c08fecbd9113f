"""A canary key must never show: not in any repr, exception (message, repr, traceback), log
record at any level (llmkit's, httpx's, httpcore's), cache key or value, or the request
object a response carries. Plus key rotation on a live client, atomically."""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
from typing import Any

import attrs
import pytest

import llmkit
from llmkit._log import REDACTED, redact_headers, redact_url
from llmkit._registry import dialect, provider_spec
from llmkit._settings import SecretSource, resolve_settings
from llmkit._spec import AuthSpec, SettingSpec
from llmkit._transport import ProviderTransport
from llmkit.dialects._base import WireRequest
from tests._faulty import FaultyServer, Received, by_stream, closed_port, openai_body, openai_sse, respond, stream

KEY = "sk-canary-7f3a9c1e5b"


def everything_said(exc: BaseException) -> str:
    """All an exception can show: message, repr, the whole formatted chain."""
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


def test_key_never_in_reprs_errors_logs_or_cache(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level: llmkit, httpx, httpcore
    seen: list[str] = []
    ok = by_stream(respond(200, openai_body("fine")), stream(openai_sse(["fi", "ne"])))
    with FaultyServer(ok) as srv:
        cache = llmkit.MemoryCache(ttl=60)
        c = llmkit.Client(
            providers={"openai": {"api_key": KEY, "base_url": srv.url + "/v1", "max_retries": 1}}, cache=cache
        )
        srv.queue(respond(503, {"error": {"message": "busy"}}, {"retry-after-ms": "1"}))
        resp = c.chat("openai/gpt-4o-mini", "hi")
        seen += [repr(c), repr(resp), str(resp.raw), repr(resp.message), repr(resp.usage)]
        with c.chat("openai/gpt-4o-mini", "hi", stream=True, cache=False) as s:
            seen.append(repr(s))
            seen.append(repr(s.get_final_response()))
        t = c._transports["openai"]
        seen += [repr(t), repr(t.settings), repr(t.settings.values), repr(t.http), str(t.base_headers)]
        for failing, attempts in (
            (respond(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}), 1),
            (respond(500, "<html>oops</html>"), 2),
            (respond(302, b"", {"location": "http://elsewhere.example/v1/chat/completions?api_key=sk-other"}), 1),
        ):
            srv.queue(*[failing] * attempts)
            with pytest.raises(llmkit.LLMKitError) as info:
                c.chat("openai/gpt-4o-mini", "hi", cache=False)
            seen.append(everything_said(info.value))
        assert "api_key=[redacted]" in str(info.value) and "sk-other" not in str(info.value)
        seen += [repr(cache), *cache._data.keys(), *(v.decode("utf-8", "replace") for _, v in cache._data.values())]
        assert len(cache) == 1
        c.close()
        dead = llmkit.Client(
            providers={"openai": {"api_key": KEY, "base_url": f"http://127.0.0.1:{closed_port()}/v1", "max_retries": 0}}
        )
        with pytest.raises(llmkit.ConnectionError) as info:
            dead.chat("openai/gpt-4o-mini", "hi")
        seen.append(everything_said(info.value))
        # The key went over the wire, exactly where the spec says, and nowhere else.
        assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in srv.requests)
        assert all(KEY not in r.path for r in srv.requests)
    records = [r for r in caplog.records]
    assert any(r.name == "llmkit" and r.levelno == logging.DEBUG for r in records)
    assert any(r.name == "httpx" for r in records) and any(r.name.startswith("httpcore") for r in records)
    seen += [r.getMessage() for r in records] + [caplog.text]
    leaks = [s for s in seen if KEY in s]
    assert leaks == []


def test_debug_log_shows_the_request_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="llmkit")
    with FaultyServer(respond(200, openai_body("x"))) as srv:
        url = srv.url
        with llmkit.Client(
            providers={"openai": {"api_key": KEY, "base_url": url + "/v1", "headers": {"X-Trace": "t-1"}}}
        ) as c:
            c.chat("openai/gpt-4o-mini", "hi")
    (req,) = [r.getMessage() for r in caplog.records if " request POST " in r.getMessage()]
    assert req.startswith(f"openai request POST {url}/v1/chat/completions (attempt 1) headers=")
    assert "'x-trace': 't-1'" in req and KEY not in req
    (resp,) = [r.getMessage() for r in caplog.records if " response HTTP " in r.getMessage()]
    assert resp.startswith("openai response HTTP 200 in ")


def test_redaction_rules() -> None:
    assert redact_headers(
        {"Authorization": "Bearer x", "x-api-key": "k", "X-Goog-Api-Key": "g", "Cookie": "c", "Accept": "a"}
    ) == {
        "Authorization": REDACTED,
        "x-api-key": REDACTED,
        "X-Goog-Api-Key": REDACTED,
        "Cookie": REDACTED,
        "Accept": "a",
    }
    assert redact_headers({"X-Custom": "v"}, extra=["x-custom"]) == {"X-Custom": REDACTED}
    assert (
        redact_url("https://u:p@h/p?key=abc&alt=sse&access_token=t")
        == f"https://{REDACTED}@h/p?key={REDACTED}&alt=sse&access_token={REDACTED}"
    )


def test_query_auth_keeps_the_key_out_of_httpx_logs_and_the_request(caplog: pytest.LogCaptureFixture) -> None:
    """A provider authenticating by query parameter: the key is on the wire, not in httpx's INFO line."""
    caplog.set_level(logging.DEBUG)
    spec = attrs.evolve(provider_spec("openai"), auth=AuthSpec(scheme="query", param="key"))
    with FaultyServer(respond(200, openai_body("x"))) as srv:
        t = ProviderTransport(
            resolve_settings(spec, {"api_key": KEY, "base_url": srv.url + "/v1"}), dialect("openai_chat")
        )
        resp = t.send(WireRequest(method="POST", path="/chat/completions", body={"model": "m"}, query={"alt": "json"}))
        t.close()
        assert srv.requests[0].path == f"/v1/chat/completions?alt=json&key={KEY}"
    assert KEY not in str(resp.request.url) and "authorization" not in resp.request.headers
    assert KEY not in caplog.text and any(r.name == "httpx" for r in caplog.records)


def test_secret_header_settings_go_on_the_wire_not_into_requests() -> None:
    base = provider_spec("openai")
    spec = attrs.evolve(
        base, settings=(*base.settings, SettingSpec(name="org_token", secret=True, header="X-Org-Token"))
    )
    with FaultyServer(respond(200, openai_body("x"))) as srv:
        t = ProviderTransport(
            resolve_settings(spec, {"api_key": KEY, "org_token": "org-secret-1", "base_url": srv.url}),
            dialect("openai_chat"),
        )
        resp = t.send(WireRequest(method="POST", path="/chat/completions", body={}))
        t.close()
        assert srv.requests[0].headers["x-org-token"] == "org-secret-1"
    assert "x-org-token" not in resp.request.headers and "org-secret-1" not in repr(t.settings)


def test_rotation_with_a_callable_key() -> None:
    current = ["key-one"]
    with FaultyServer(respond(200, openai_body("x"))) as srv:
        c = llmkit.Client(providers={"openai": {"api_key": lambda: current[0], "base_url": srv.url + "/v1"}})
        c.chat("openai/gpt-4o-mini", "hi")
        current[0] = "key-two"
        c.chat("openai/gpt-4o-mini", "hi")
        assert [r.headers["authorization"] for r in srv.requests] == ["Bearer key-one", "Bearer key-two"]
        assert "key-two" not in repr(c._transports["openai"].settings)
        current[0] = ""
        with pytest.raises(llmkit.ConfigError, match="callable given for 'api_key' must return a non-empty string"):
            c.chat("openai/gpt-4o-mini", "hi")
        assert srv.count() == 2
        c.close()


def test_rotation_with_a_callable_key_async() -> None:
    current = ["a-one"]
    with FaultyServer(respond(200, openai_body("x"))) as srv:

        async def main() -> None:
            async with llmkit.AsyncClient(
                providers={"openai": {"api_key": lambda: current[0], "base_url": srv.url + "/v1"}}
            ) as c:
                await c.chat("openai/gpt-4o-mini", "hi")
                current[0] = "a-two"
                await c.chat("openai/gpt-4o-mini", "hi")

        asyncio.run(main())
        assert [r.headers["authorization"] for r in srv.requests] == ["Bearer a-one", "Bearer a-two"]


def test_update_is_atomic_under_concurrent_requests() -> None:
    """Two credentials that belong together are never sent half old, half new."""
    base = provider_spec("openai")
    spec = attrs.evolve(base, settings=(*base.settings, SettingSpec(name="key_id", secret=True, header="X-Key-Id")))
    mismatched: list[str] = []

    def check(req: Received) -> Any:
        key = req.headers["authorization"].removeprefix("Bearer key-")
        if req.headers["x-key-id"] != f"id-{key}":
            mismatched.append(f"{key} / {req.headers['x-key-id']}")
        return respond(200, openai_body("x"))

    with FaultyServer(check) as srv:
        settings = resolve_settings(spec, {"api_key": "key-0", "key_id": "id-0", "base_url": srv.url})
        t = ProviderTransport(settings, dialect("openai_chat"))
        stop = threading.Event()

        def rotate() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                settings.update(api_key=f"key-{n}", key_id=f"id-{n}")

        rotator = threading.Thread(target=rotate)
        rotator.start()
        try:
            for _ in range(200):
                t.send(WireRequest(method="POST", path="/chat/completions", body={}))
        finally:
            stop.set()
            rotator.join()
        t.close()
        assert srv.count() == 200 and settings.version > 0
    assert mismatched == []
    with pytest.raises(llmkit.ConfigError, match="cannot update 'base_url' for 'openai' on a live client"):
        settings.update(base_url="http://elsewhere")


def test_secret_source_repr_and_failures() -> None:
    def broken() -> str:
        raise RuntimeError(KEY)

    src = SecretSource(broken, "api_key")
    assert repr(src) == "SecretSource('api_key')" and KEY not in str(src)
    with pytest.raises(llmkit.ConfigError, match="callable given for 'api_key' failed: RuntimeError") as info:
        src.get()
    assert KEY not in everything_said(info.value)
    with pytest.raises(llmkit.ConfigError, match="only secret settings may be callables"):
        resolve_settings(provider_spec("openai"), {"api_key": "x", "base_url": lambda: "http://x"})
