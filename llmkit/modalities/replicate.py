"""Replicate's image models: `client.generate_image("replicate/<owner>/<name>", prompt)`.

An image is a prediction like a chat answer: the model input is POSTed to
`/models/<owner>/<name>/predictions` (or to `/predictions` with `version` for an
`owner/name:version` id) with `Prefer: wait=<wait>`, and the job flow of
`llmkit.overrides.replicate` polls an unfinished prediction, or cancels it past
`job_timeout`, so what is parsed here is the finished prediction.

Options map to the input names the image models share: `n` -> `num_outputs`; `size` as an
aspect ratio `"16:9"` -> `aspect_ratio`, as `"1024x768"` -> `width` and `height` (the models
that take pixel sizes: SDXL; FLUX 1.1 pro reads them with `aspect_ratio: "custom"`); anything
else (`seed`, `output_format`, ...) goes in `extra_body`, merged into the input. Replicate
answers file URLs: llmkit returns them and does not download them (no second host gets a
request, and the caller decides whether to fetch); `data:` URIs are decoded into bytes.
`quality` and `response_format="b64_json"` have no Replicate equivalent and raise before any
request. No I/O here, and no branching on a provider id.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from typing import Any
from urllib.parse import urlsplit

from .._errors import ConfigError, LLMKitError
from .._modal_types import GeneratedImage, ImageResponse
from .._wire import structure
from ..dialects._base import CallContext, WireRequest, encode_path_segment
from ..dialects.replicate import prediction_error
from ..generated.wire import replicate as wire
from ._base import ImageOptions, ModalAdapter, ModalRequest, operation, unsupported

__all__ = ["ADAPTER", "ReplicateModalAdapter", "size_input"]

_PIXELS = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_RATIO = re.compile(r"^\d{1,3}:\d{1,3}$")
_FILE_SCHEMES = ("https://", "http://", "data:")


def size_input(size: str, ctx: CallContext) -> dict[str, Any]:
    """The input fields for llmkit's `size`: an aspect ratio or a width and height."""
    if _RATIO.match(size):
        return {"aspect_ratio": size}
    m = _PIXELS.match(size)
    if m:
        return {"width": int(m.group(1)), "height": int(m.group(2))}
    raise unsupported(
        ctx,
        f"size {size!r}",
        'give an aspect ratio ("16:9") or pixels ("1024x768"), or the model\'s own fields in extra_body',
    )


def _data_uri(url: str, provider: str) -> tuple[bytes, str] | None:
    """The bytes and media type of a `data:<type>;base64,...` output, else None."""
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


def _media_type(url: str) -> str | None:
    """The media type of a file URL, from its extension (`.webp`, `.png`, `.jpg`)."""
    guessed = mimetypes.guess_type(urlsplit(url).path)[0]
    return guessed if guessed and guessed.startswith("image/") else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class ReplicateModalAdapter(ModalAdapter):
    """Image generation through Replicate predictions of image models."""

    def image_request(self, prompt: str, opts: ImageOptions, ctx: CallContext) -> ModalRequest:
        if opts.quality is not None:
            raise unsupported(ctx, "quality", "Replicate models take their own options: pass them in extra_body")
        if opts.response_format == "b64_json":
            raise unsupported(
                ctx, 'response_format="b64_json"', "Replicate answers file URLs; fetch image.url to get the bytes"
            )
        if opts.n is not None and (not isinstance(opts.n, int) or isinstance(opts.n, bool) or opts.n < 1):
            raise ConfigError(f"n must be a positive integer, got {opts.n!r}", provider=ctx.provider)
        inp: dict[str, Any] = {"prompt": prompt}
        if opts.n is not None:
            inp["num_outputs"] = opts.n
        if opts.size is not None:
            inp.update(size_input(opts.size, ctx))
        if opts.extra_body:
            inp.update(opts.extra_body)
        body: dict[str, Any] = {"input": inp}
        name, sep, version = ctx.model.partition(":")
        if sep:
            op = operation(ctx, "create_prediction", "image generation")
            body["version"] = ctx.model if "/" in name else version
            path = op.path
        else:
            op = operation(ctx, "create_model_prediction", "image generation")
            path = op.path.replace("{+model}", "/".join(encode_path_segment(s) for s in ctx.model.split("/")))
        wait = int(float(ctx.settings.get("wait") or 60))
        return ModalRequest(
            wire=WireRequest(method=op.method, path=path, body=body, headers={"Prefer": f"wait={wait}"})
        )

    def parse_image(self, data: Any, ctx: CallContext) -> ImageResponse:
        pred = structure(data, wire.Prediction)
        if pred.status != "succeeded":
            raise prediction_error(pred, ctx.provider, data)
        output = pred.output
        urls = output if isinstance(output, list) else [output]
        if not urls or not all(isinstance(u, str) and u.startswith(_FILE_SCHEMES) for u in urls):
            raise LLMKitError(
                f"{ctx.provider}/{ctx.model} answered no image files (output {output!r:.80}): "
                "it is not an image model; use client.chat or client.native('replicate')",
                provider=ctx.provider,
            )
        inp = pred.input if isinstance(pred.input, dict) else {}
        width, height = _int(inp.get("width")), _int(inp.get("height"))
        images = []
        for url in urls:
            inline = _data_uri(url, ctx.provider)
            images.append(
                GeneratedImage(
                    data=inline[0] if inline else None,
                    url=None if inline else url,
                    media_type=inline[1] if inline else _media_type(url),
                    width=width,
                    height=height,
                )
            )
        return ImageResponse(images=images, model=ctx.model, provider=ctx.provider, raw=data)


ADAPTER = ReplicateModalAdapter()
