"""Jina Reader, typed: read a web page as LLM-ready text in one call.

    from llmkit.reader import read_url
    page = read_url(client, "https://example.com/post", target_selector="article")
    page.title, page.content, page.tokens

The wire call is the jina spec's `read` operation (`client.native("jina").read(url=...)`),
sent to the Reader's own host (`https://r.jina.ai`, or the `reader_base_url` setting) with the
jina key as a Bearer token. Reader's options are request headers; these functions take them
as typed keyword arguments and check them before anything is sent, so a typo is a ConfigError
naming the option, not a silently ignored header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import attrs

from ._errors import APIError, ConfigError
from ._wire import unstructure

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["ReaderResult", "aread_url", "read_url", "reader_headers"]

ReturnFormat = Literal["markdown", "html", "text", "screenshot", "pageshot"]
_FORMATS = ("markdown", "html", "text", "screenshot", "pageshot")


@attrs.frozen(kw_only=True, slots=True)
class ReaderResult:
    """One page as Reader returned it. `tokens` is what Reader counted (and bills); `content`
    is empty for the screenshot formats, whose image URL is in `raw`."""

    url: str
    title: str | None
    description: str | None
    content: str
    tokens: int | None
    published_time: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


def reader_headers(
    *,
    return_format: ReturnFormat | None = None,
    target_selector: str | None = None,
    remove_selector: str | None = None,
    wait_for_selector: str | None = None,
    with_generated_alt: bool = False,
    with_links_summary: bool = False,
    with_images_summary: bool = False,
    no_cache: bool = False,
    timeout: int | None = None,
) -> dict[str, str]:
    """The Reader option headers for these settings; ConfigError for a value Reader refuses."""
    h: dict[str, str] = {}
    if return_format is not None:
        if return_format not in _FORMATS:
            raise ConfigError(f"return_format must be one of {', '.join(_FORMATS)}, got {return_format!r}")
        h["X-Return-Format"] = return_format
    for name, header, value in (
        ("target_selector", "X-Target-Selector", target_selector),
        ("remove_selector", "X-Remove-Selector", remove_selector),
        ("wait_for_selector", "X-Wait-For-Selector", wait_for_selector),
    ):
        if value is not None:
            if not isinstance(value, str) or not value.strip() or "\n" in value or "\r" in value:
                raise ConfigError(f"{name} must be a non-empty one-line CSS selector, got {value!r}")
            h[header] = value
    for header, flag in (
        ("X-With-Generated-Alt", with_generated_alt),
        ("X-With-Links-Summary", with_links_summary),
        ("X-With-Images-Summary", with_images_summary),
        ("X-No-Cache", no_cache),
    ):
        if flag:
            h[header] = "true"
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= 180:
            raise ConfigError(f"timeout must be a whole number of seconds from 1 to 180, got {timeout!r}")
        h["X-Timeout"] = str(timeout)
    return h


def _target(url: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"read_url needs an absolute http(s) URL of the page to read, got {url!r}", provider="jina")
    return url


def _result(resp: Any) -> ReaderResult:
    raw = unstructure(resp)
    page = resp.data
    if page is None:
        raise APIError("Jina Reader answered without a `data` object", provider="jina", body=raw)
    usage = page.usage
    tokens = usage.tokens if usage is not None else None
    return ReaderResult(
        url=page.url or "",
        title=page.title,
        description=page.description,
        content=page.content or "",
        tokens=tokens,
        published_time=page.published_time,
        raw=raw,
    )


def read_url(
    client: Client,
    url: str,
    *,
    return_format: ReturnFormat | None = None,
    target_selector: str | None = None,
    remove_selector: str | None = None,
    wait_for_selector: str | None = None,
    with_generated_alt: bool = False,
    with_links_summary: bool = False,
    with_images_summary: bool = False,
    no_cache: bool = False,
    timeout: int | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> ReaderResult:
    """Read `url` through Jina Reader with `client`'s jina settings; see `reader_headers`."""
    headers = reader_headers(
        return_format=return_format,
        target_selector=target_selector,
        remove_selector=remove_selector,
        wait_for_selector=wait_for_selector,
        with_generated_alt=with_generated_alt,
        with_links_summary=with_links_summary,
        with_images_summary=with_images_summary,
        no_cache=no_cache,
        timeout=timeout,
    )
    headers.update(extra_headers or {})
    target = _target(url)
    return _result(client.native("jina").read(url=target, extra_headers=headers))


async def aread_url(
    client: AsyncClient,
    url: str,
    *,
    return_format: ReturnFormat | None = None,
    target_selector: str | None = None,
    remove_selector: str | None = None,
    wait_for_selector: str | None = None,
    with_generated_alt: bool = False,
    with_links_summary: bool = False,
    with_images_summary: bool = False,
    no_cache: bool = False,
    timeout: int | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> ReaderResult:
    """The async twin of `read_url`."""
    headers = reader_headers(
        return_format=return_format,
        target_selector=target_selector,
        remove_selector=remove_selector,
        wait_for_selector=wait_for_selector,
        with_generated_alt=with_generated_alt,
        with_links_summary=with_links_summary,
        with_images_summary=with_images_summary,
        no_cache=no_cache,
        timeout=timeout,
    )
    headers.update(extra_headers or {})
    target = _target(url)
    return _result(await client.native("jina").read(url=target, extra_headers=headers))
