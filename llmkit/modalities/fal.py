"""fal.ai's image apps: `client.generate_image("fal/<app_id>", prompt)`.

The request is the app's own input, POSTed to the app on the queue host with `Prefer: wait`,
which tells the fal job flow (`llmkit.overrides.fal`) to follow the request through status
polls to its result (or, in sync mode, to send it to fal's sync host); the answer parsed here
is the app's output, `{"images": [{"url", "width", "height", "content_type"}], ...}`.

Options map to fal's own names rather than being dropped: `n` -> `num_images`; `size` as
`"WIDTHxHEIGHT"` -> `image_size: {width, height}`, a fal preset as it is. `quality` and
`response_format="b64_json"` have no fal equivalent and raise before any request. No I/O
here, and no branching on a provider id.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from .._errors import LLMKitError
from .._modal_types import GeneratedImage, ImageResponse
from .._wire import structure
from ..dialects._base import CallContext, WireRequest, encode_path_segment
from ..generated.wire import fal as wire
from ._base import ImageOptions, ModalAdapter, ModalRequest, merged, operation, unsupported

__all__ = ["ADAPTER", "FalModalAdapter", "image_size"]

_DIMENSIONS = re.compile(r"^(\d{1,5})x(\d{1,5})$")


def image_size(size: str) -> str | dict[str, int]:
    """fal's `image_size` for llmkit's `size`: `{width, height}` for "WxH", else the preset name."""
    m = _DIMENSIONS.match(size)
    return {"width": int(m.group(1)), "height": int(m.group(2))} if m else size


def _data_uri(url: str, provider: str) -> tuple[bytes, str] | None:
    """The bytes and media type of a `data:<type>;base64,...` URI (fal's sync_mode), else None."""
    if not url.startswith("data:"):
        return None
    head, _, payload = url[5:].partition(",")
    media, _, encoding = head.partition(";")
    if encoding != "base64":
        return None
    try:
        return base64.b64decode(payload, validate=True), media or "application/octet-stream"
    except (binascii.Error, ValueError) as exc:
        raise LLMKitError(f"{provider} sent an image data URI that is not valid base64", provider=provider) from exc


class FalModalAdapter(ModalAdapter):
    """Image generation through any fal app that answers `images`."""

    def image_request(self, prompt: str, opts: ImageOptions, ctx: CallContext) -> ModalRequest:
        op = operation(ctx, "submit", "image generation")
        if opts.quality is not None:
            raise unsupported(ctx, "quality", "fal apps take their own options: pass them in extra_body")
        if opts.response_format == "b64_json":
            raise unsupported(
                ctx, 'response_format="b64_json"', 'pass extra_body={"sync_mode": True} for inline data: URIs'
            )
        body: dict[str, Any] = {"prompt": prompt}
        if opts.n is not None:
            body["num_images"] = opts.n
        if opts.size is not None:
            body["image_size"] = image_size(opts.size)
        app = "/".join(encode_path_segment(part) for part in ctx.model.strip("/").split("/"))
        path = op.path.replace("{+app_id}", app)
        wire_req = WireRequest(
            method=op.method, path=path, body=merged(body, opts.extra_body), headers={"Prefer": "wait"}
        )
        return ModalRequest(wire=wire_req)

    def parse_image(self, data: Any, ctx: CallContext) -> ImageResponse:
        out = structure(data, wire.ImageOutput)
        images = []
        for img in out.images or []:
            inline = _data_uri(img.url, ctx.provider)
            images.append(
                GeneratedImage(
                    data=inline[0] if inline else None,
                    url=None if inline else img.url,
                    media_type=inline[1] if inline else (img.content_type or None),
                    width=img.width or None,
                    height=img.height or None,
                )
            )
        if not images:
            raise LLMKitError(
                f"{ctx.provider}/{ctx.model} answered no `images`: it is not an image app "
                "(use client.native('fal') for other apps)",
                provider=ctx.provider,
            )
        return ImageResponse(images=images, model=ctx.model, provider=ctx.provider, raw=data)


ADAPTER = FalModalAdapter()
