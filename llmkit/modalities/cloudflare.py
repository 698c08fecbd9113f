"""Workers AI's text-to-image models: `client.generate_image("cloudflare/@cf/...", prompt)`.

The input is POSTed to the native `/accounts/{account_id}/ai/run/@cf/...` (the model id's `@`
and slashes kept, as Cloudflare routes them). Workers AI answers images in two ways, both
read here: FLUX.1 [schnell] answers the v4 envelope with the image base64-encoded in
`result.image`; the Stable Diffusion XL models answer the raw image bytes (`image/png`).
Either way the image comes back as bytes, with its media type read from the bytes and its
width and height read from the PNG or JPEG header.

Options: `size` as `"1024x768"` becomes `width` and `height` (the SDXL models; FLUX.1
[schnell] takes only `prompt` and `steps`); anything else (`steps`, `num_steps`, `seed`,
`negative_prompt`, `guidance`) goes in `extra_body`. Each call makes one image, so `n` above 1,
`quality` and `response_format="url"` raise before any request. No I/O, no provider-id branches.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import Any

import httpx

from .._errors import ConfigError, LLMKitError
from .._http_errors import error_for_status
from .._modal_types import GeneratedImage, ImageResponse
from .._native import expand_reserved
from .._transport import decode_json
from .._wire import structure
from ..dialects._base import CallContext, WireRequest, expand_path
from ..dialects.cloudflare import envelope_error
from ..generated.wire import cloudflare as wire
from ._base import ImageOptions, ModalAdapter, ModalRequest, merged, operation, unsupported
from ._http import content_type

__all__ = ["ADAPTER", "CloudflareModalAdapter", "image_info"]

_PIXELS = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG's start-of-frame segment."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def image_info(data: bytes) -> tuple[str, int | None, int | None]:
    """The media type, width and height of image bytes (PNG, JPEG, WebP; sizes of the first two)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", width, height
    if data[:3] == b"\xff\xd8\xff":
        size = _jpeg_size(data)
        return "image/jpeg", size[0] if size else None, size[1] if size else None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", None, None
    return "application/octet-stream", None, None


class CloudflareModalAdapter(ModalAdapter):
    """Image generation through Workers AI's `ai/run` route."""

    def image_request(self, prompt: str, opts: ImageOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "run", "image generation")
        account = ctx.settings.get("account_id")
        if not account:
            raise ConfigError(
                f"{ctx.provider} needs your account id: pass providers={{'cloudflare': {{'account_id': ...}}}} "
                "(or set CLOUDFLARE_ACCOUNT_ID)",
                provider=ctx.provider,
            )
        if opts.n is not None and (not isinstance(opts.n, int) or isinstance(opts.n, bool) or opts.n < 1):
            raise ConfigError(f"n must be a positive integer, got {opts.n!r}", provider=ctx.provider)
        if opts.n is not None and opts.n != 1:
            raise unsupported(ctx, f"n={opts.n!r}", "Workers AI image models make one image per call; call again")
        if opts.quality is not None:
            raise unsupported(ctx, "quality", "pass the model's own fields (steps, guidance) in extra_body")
        if opts.response_format == "url":
            raise unsupported(ctx, 'response_format="url"', "Workers AI answers the image itself, as bytes")
        body: dict[str, Any] = {"prompt": prompt}
        if opts.size is not None:
            m = _PIXELS.match(opts.size)
            if m is None:
                raise unsupported(ctx, f"size {opts.size!r}", 'give pixels as "1024x768"')
            body["width"], body["height"] = int(m.group(1)), int(m.group(2))
        path = expand_path(expand_reserved(op.path, {"model": ctx.model}), account_id=str(account))
        return ModalRequest(wire=WireRequest(method=op.method, path=path, body=merged(body, opts.extra_body)))

    def parse_image_response(self, resp: httpx.Response, ctx: CallContext) -> ImageResponse:
        if content_type(resp).startswith("image/"):
            return self._images(resp.content, ctx, raw=None)
        return self.parse_image(decode_json(resp, ctx.provider), ctx)

    def parse_image(self, data: Any, ctx: CallContext) -> ImageResponse:
        info = envelope_error(data)
        if info is not None and isinstance(data, dict) and data.get("success") is False:
            raise error_for_status(None, info, provider=ctx.provider, body=data, request_id=None)
        env = structure(data, wire.RunImageResponse)
        b64 = env.result.image if env.result is not None else None
        if not b64:
            raise LLMKitError(
                f"{ctx.provider}/{ctx.model} answered no `result.image`: it is not a text-to-image model",
                provider=ctx.provider,
            )
        try:
            image = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LLMKitError(
                f"{ctx.provider} sent a result.image that is not valid base64", provider=ctx.provider
            ) from exc
        return self._images(image, ctx, raw=data)

    def _images(self, image: bytes, ctx: CallContext, raw: Any) -> ImageResponse:
        if not image:
            raise LLMKitError(f"{ctx.provider}/{ctx.model} answered an empty image", provider=ctx.provider)
        media, width, height = image_info(image)
        img = GeneratedImage(data=image, media_type=media, width=width, height=height)
        return ImageResponse(images=[img], model=ctx.model, provider=ctx.provider, raw=raw)


ADAPTER = CloudflareModalAdapter()
