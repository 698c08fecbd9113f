"""The text-to-image models the Workers AI emulator runs, and the images they answer.

FLUX.1 [schnell] takes `prompt` (1-2048 characters) and `steps` (at most 8) and answers the v4
envelope with a base64 JPEG in `result.image`; the Stable Diffusion XL models take `prompt`,
`width`/`height` (256-2048), `num_steps` (at most 20), `guidance`, `seed`, ... and answer the
raw PNG (`image/png`). Inputs are checked strictly: an unknown field, a wrong type or a value
out of range is a 400 envelope error with code 5006, as Workers AI reports bad input. The
images are real PNG files and JPEG headers of the requested size (blank pixels).
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import cloudflare as cf_wire
from ._server import EmuResponse

__all__ = ["IMAGE_MODELS", "jpeg", "png", "run_image"]

# model -> (answers raw PNG bytes, default width/height)
IMAGE_MODELS: dict[str, bool] = {
    "@cf/black-forest-labs/flux-1-schnell": False,
    "@cf/stabilityai/stable-diffusion-xl-base-1.0": True,
    "@cf/bytedance/stable-diffusion-xl-lightning": True,
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG of this size (all black)."""
    rows = (b"\x00" + b"\x00" * (3 * width)) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 1)) + _chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int) -> bytes:
    """A JPEG's markers up to its frame header (SOI, JFIF APP0, SOF0) and EOI: enough to name its size."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", len(app0) + 2)
        + app0
        + b"\xff\xc0"
        + struct.pack(">H", len(sof0) + 2)
        + sof0
        + b"\xff\xd9"
    )


def _bad(message: str) -> EmuResponse:
    body = {"result": None, "success": False, "errors": [{"code": 5006, "message": message}], "messages": []}
    return EmuResponse.json(body, 400)


def _range(name: str, value: int | float | None, lo: float, hi: float) -> str | None:
    if value is not None and not lo <= value <= hi:
        return f"AiError: Bad input: Error: '/{name}' must be >= {lo:g} and <= {hi:g}"
    return None


def run_image(model: str, raw: Any) -> EmuResponse:
    """Answer an `ai/run` call of a text-to-image model."""
    raw_png = IMAGE_MODELS[model]
    try:
        if raw_png:
            sd = structure_strict(raw, cf_wire.DiffusionImageRequest)
            problems = [
                _range("width", sd.width, 256, 2048),
                _range("height", sd.height, 256, 2048),
                _range("num_steps", sd.num_steps, 1, 20),
            ]
            prompt = sd.prompt
        else:
            flux = structure_strict(raw, cf_wire.FluxImageRequest)
            problems = [_range("steps", flux.steps, 1, 8), _range("prompt", len(flux.prompt), 1, 2048)]
            prompt = flux.prompt
    except (WireValidationError, ValueError) as exc:
        return _bad(f"AiError: Bad input: Error: {exc}")
    problem = next((p for p in problems if p), None)
    if problem is not None:
        return _bad(problem)
    if not prompt:
        return _bad("AiError: Bad input: Error: '/prompt' must NOT have fewer than 1 characters")
    if raw_png:
        image = png(sd.width or 1024, sd.height or 1024)
        return EmuResponse(status=200, headers={"content-type": "image/png"}, body=image)
    data = base64.b64encode(jpeg(1024, 1024)).decode()
    return EmuResponse.json({"result": {"image": data}, "success": True, "errors": [], "messages": []})
