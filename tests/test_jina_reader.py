"""Jina Reader on its own host: the generated `read` operation and llmkit.reader's typed call,
against the strict emulator of r.jina.ai (exact URL, headers and body; parsing; error shape)."""

from __future__ import annotations

import asyncio

import pytest

import llmkit
from llmkit.generated.wire import jina as wire
from llmkit.reader import ReaderResult, aread_url, read_url
from llmkit.testing import emulator
from llmkit.testing._jina_reader_emu import reader_page

PAGE = "https://example.com/blog/post?id=7#top"


def test_native_read_goes_to_the_reader_host_with_the_key(emu, client) -> None:
    resp = client.native("jina").read(url=PAGE)
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("POST", "/jina-reader/", {})
    assert req.provider == "jina_reader"  # the Reader's host, not api.jina.ai's
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.headers["accept"] == "application/json"
    assert req.headers["content-type"] == "application/json"
    assert req.json() == {"url": PAGE}
    assert not any(k.startswith("x-") for k in req.headers)  # no option unless asked
    assert isinstance(resp, wire.JinaReaderResponse)
    expected = reader_page(PAGE, {})
    assert (resp.code, resp.status) == (200, 20000)
    assert resp.data.title == "Emulated page at example.com"
    assert resp.data.url == PAGE and resp.data.content == expected["content"]
    assert resp.data.usage.tokens == expected["usage"]["tokens"] > 0
    assert resp.meta.usage.tokens == expected["usage"]["tokens"]


def test_read_url_sends_each_option_as_its_header(emu, client) -> None:
    page = read_url(
        client,
        PAGE,
        return_format="text",
        target_selector="article.main",
        remove_selector="nav, footer",
        with_generated_alt=True,
        no_cache=True,
        timeout=30,
    )
    req = emu.last_request
    assert req.path == "/jina-reader/" and req.json() == {"url": PAGE}
    options = {k: v for k, v in req.headers.items() if k.startswith("x-")}
    assert options == {
        "x-return-format": "text",
        "x-target-selector": "article.main",
        "x-remove-selector": "nav, footer",
        "x-with-generated-alt": "true",
        "x-no-cache": "true",
        "x-timeout": "30",
    }
    assert isinstance(page, ReaderResult)
    assert page.url == PAGE and page.title == "Emulated page at example.com"
    assert page.description == "An emulated page of example.com"
    assert "Only the part matching 'article.main' was kept." in page.content
    assert "an emulated caption" in page.content and not page.content.startswith("#")  # text, not markdown
    assert page.tokens is not None and page.tokens > 0
    assert page.raw["data"]["usage"]["tokens"] == page.tokens


def test_read_url_screenshot_has_no_content_but_the_image_url(emu, client) -> None:
    page = read_url(client, PAGE, return_format="screenshot")
    assert emu.last_request.headers["x-return-format"] == "screenshot"
    assert page.content == ""
    assert page.raw["data"]["screenshotUrl"] == "https://emulator.invalid/screenshot/example.com.png"


def test_aread_url_is_the_same_call(emu) -> None:
    async def go() -> ReaderResult:
        async with emu.async_client() as ac:
            return await aread_url(ac, PAGE, return_format="html", wait_for_selector="#app")

    page = asyncio.run(go())
    req = emu.last_request
    assert (req.method, req.path, req.json()) == ("POST", "/jina-reader/", {"url": PAGE})
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.headers["x-return-format"] == "html" and req.headers["x-wait-for-selector"] == "#app"
    assert page.content.startswith("<html><body><p># Emulated page at example.com</p>")


@pytest.mark.parametrize(
    ("url", "kwargs", "pattern"),
    [
        ("example.com/page", {}, "needs an absolute http\\(s\\) URL"),
        ("ftp://example.com/x", {}, "needs an absolute http\\(s\\) URL"),
        (PAGE, {"return_format": "pdf"}, "return_format must be one of markdown, html"),
        (PAGE, {"timeout": 0}, "timeout must be a whole number of seconds from 1 to 180"),
        (PAGE, {"timeout": 181}, "timeout must be a whole number"),
        (PAGE, {"target_selector": "a\nX-Evil: 1"}, "target_selector must be a non-empty one-line CSS selector"),
        (PAGE, {"remove_selector": " "}, "remove_selector must be a non-empty"),
    ],
)
def test_bad_reader_input_is_refused_before_any_request(emu, client, url, kwargs, pattern) -> None:
    with pytest.raises(llmkit.ConfigError, match=pattern):
        read_url(client, url, **kwargs)
    assert emu.requests == []


def test_reader_errors_come_back_typed_with_readers_message(emu, client) -> None:
    with pytest.raises(llmkit.BadRequestError, match="url must be an absolute http\\(s\\) URL") as info:
        client.native("jina").read(url="not a url")
    assert info.value.status == 422 and info.value.body["name"] == "ParamValidationError"
    with pytest.raises(llmkit.BadRequestError, match="X-Return-Format must be one of"):
        client.native("jina").read(url=PAGE, extra_headers={"X-Return-Format": "pdf"})
    emu.queue_error("jina_reader", 429, "Rate limit exceeded")
    with pytest.raises(llmkit.RateLimitError, match="Rate limit exceeded"):
        read_url(client, PAGE)


def test_a_wrong_key_is_refused_by_the_reader() -> None:
    with emulator(require_key="right-key") as emu:
        with emu.client() as c, pytest.raises(llmkit.AuthenticationError, match="Invalid API key") as info:
            read_url(c, PAGE)
        assert emu.last_request.headers["authorization"] == "Bearer test-key"
        assert info.value.status == 401 and info.value.body["name"] == "AuthenticationFailedError"


def test_the_reader_host_is_its_own_setting_not_base_url() -> None:
    """Without `reader_base_url` the Reader is r.jina.ai, wherever the API root points."""
    from llmkit._registry import dialect, provider_spec
    from llmkit._settings import resolve_settings
    from llmkit._transport import ProviderTransport

    spec = provider_spec("jina")
    t = ProviderTransport(
        resolve_settings(spec, {"api_key": "k", "base_url": "https://proxy.internal/jina"}), dialect("jina")
    )
    assert t.hosts.base_for("read") == "https://r.jina.ai"
    assert t.hosts.base_for("create_embedding") == "https://proxy.internal/jina"
    t.close()
    eu = ProviderTransport(
        resolve_settings(spec, {"api_key": "k", "reader_base_url": "https://eu.r.jina.ai/"}), dialect("jina")
    )
    assert eu.hosts.base_for("read") == "https://eu.r.jina.ai"
    eu.close()


def test_a_bad_reader_host_setting_fails_only_the_reader_call(emu) -> None:
    with llmkit.Client(providers={"jina": {**emu.providers_config()["jina"], "reader_base_url": "r.jina.ai"}}) as c:
        with pytest.raises(llmkit.ConfigError, match="reader_base_url for 'jina' must start with http"):
            read_url(c, PAGE)
        assert emu.requests == []
        c.embed("jina/jina-embeddings-v3", ["still works"])
        assert emu.last_request.path == "/jina/v1/embeddings"


def test_an_unreachable_reader_host_is_named_in_the_error() -> None:
    from tests._faulty import closed_port

    port = closed_port()
    settings = {"api_key": "k", "reader_base_url": f"http://127.0.0.1:{port}", "max_retries": 0}
    with llmkit.Client(providers={"jina": settings}) as c, pytest.raises(llmkit.ConnectionError) as info:
        read_url(c, PAGE)
    assert f"could not reach jina at http://127.0.0.1:{port}:" in str(info.value)
