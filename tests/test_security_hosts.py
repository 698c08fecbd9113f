"""Operation hosts and credentials: a key goes only to the hosts a spec names or the user
configured, a `{setting}` in a spec host can never change its domain, and a redirect from an
operation's own host is still never followed."""

from __future__ import annotations

import asyncio

import attrs
import httpx
import pytest

import llmkit
from llmkit._registry import dialect, provider_spec
from llmkit._settings import resolve_settings
from llmkit._spec import ProviderSpec, SettingSpec
from llmkit._transport import AsyncProviderTransport, ProviderTransport
from llmkit.dialects._base import WireRequest
from llmkit.reader import read_url
from llmkit.testing import emulator

PAGE = "https://example.com/a"


def test_the_key_reaches_the_api_and_reader_hosts_and_no_other() -> None:
    """Three real servers on three origins: the API root, the Reader host, and a stranger."""
    with emulator() as api, emulator() as reader, emulator() as stranger:
        settings = {
            "api_key": "jina-secret",
            "base_url": api.base_url("jina"),
            "reader_base_url": reader.base_url("jina_reader"),
            "max_retries": 0,
        }
        with llmkit.Client(providers={"jina": settings}) as c:
            c.embed("jina/jina-embeddings-v3", ["x"])
            read_url(c, PAGE)
        assert [r.path for r in api.requests] == ["/jina/v1/embeddings"]
        assert [r.path for r in reader.requests] == ["/jina-reader/"]
        assert api.last_request.headers["authorization"] == "Bearer jina-secret"
        assert reader.last_request.headers["authorization"] == "Bearer jina-secret"

        # The pooled client itself (what override flows such as polling use) adds the key to
        # the trusted origins only: a request for another host goes out without it.
        t = ProviderTransport(resolve_settings(provider_spec("jina"), settings), dialect("jina"))
        assert t.hosts.trusts(httpx.URL(reader.url + "/anything"))
        assert not t.hosts.trusts(httpx.URL(stranger.url + "/anything"))
        t.http.get(stranger.url + "/jina-reader/https://example.com/")
        t.http.get(reader.url + "/jina-reader/https://example.com/")
        assert "authorization" not in stranger.last_request.headers
        assert reader.last_request.headers["authorization"] == "Bearer jina-secret"
        with pytest.raises(llmkit.ConfigError, match="refusing to send a jina request to http://127.0.0.1:"):
            t.hosts.check(httpx.URL(stranger.url + "/x"))
        t.close()

        async def via_async() -> None:
            at = AsyncProviderTransport(resolve_settings(provider_spec("jina"), settings), dialect("jina"))
            await at.http.get(stranger.url + "/jina-reader/https://example.com/b")
            await at.aclose()

        asyncio.run(via_async())
        assert "authorization" not in stranger.last_request.headers
        assert len(stranger.requests) == 2


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_from_the_reader_host_is_not_followed(status: int) -> None:
    with emulator() as emu, emulator() as stranger:
        target = stranger.base_url("jina_reader") + "/"
        emu.queue_error("jina_reader", status, "moved", headers={"location": target})
        with emu.client() as c, pytest.raises(llmkit.APIError, match=f"a redirect to {target}; llmkit never") as info:
            read_url(c, PAGE)
        assert info.value.status == status
        assert emu.last_request.headers["authorization"] == "Bearer test-key"
        assert stranger.requests == []  # neither the request nor the key went there


def _zoned(template: str) -> ProviderSpec:
    """The jina spec with its Reader operation moved to a host holding a `{zone}` setting."""
    spec = provider_spec("jina")
    read = attrs.evolve(spec.operations["read"], base_url=template, base_url_setting=None)
    return attrs.evolve(
        spec, settings=(*spec.settings, SettingSpec(name="zone")), operations={**spec.operations, "read": read}
    )


def test_a_host_placeholder_takes_one_dns_label_only() -> None:
    spec = _zoned("https://{zone}.r.jina.ai")
    ok = ProviderTransport(resolve_settings(spec, {"api_key": "k", "zone": "eu-west-1"}), dialect("jina"))
    assert ok.hosts.base_for("read") == "https://eu-west-1.r.jina.ai"
    ok.close()
    for zone in ("evil.com", "evil.com/x", "x@evil.com", "EU", "", "a" * 64, "-eu", None):
        t = ProviderTransport(resolve_settings(spec, {"api_key": "k", "zone": zone}), dialect("jina"))
        with pytest.raises(llmkit.ConfigError, match="must be one DNS label"):
            t.hosts.base_for("read")
        with pytest.raises(llmkit.ConfigError, match="must be one DNS label"):
            t.send(WireRequest(method="POST", path="/", body={"url": PAGE}, operation="read"))
        assert not t.hosts.trusts(httpx.URL("https://evil.com/"))
        t.close()


def test_an_unknown_or_hostless_operation_uses_the_base_url() -> None:
    t = ProviderTransport(
        resolve_settings(provider_spec("jina"), {"api_key": "k", "base_url": "https://api.example"}), dialect("jina")
    )
    assert t.hosts.base_for(None) == "https://api.example"
    assert t.hosts.base_for("rerank") == "https://api.example"
    assert t.hosts.base_for("no_such_operation") == "https://api.example"
    t.close()
