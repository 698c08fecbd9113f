"""Workers AI text-to-image on the wire: `ai/run/@cf/...` with the literal model path, FLUX's
base64 envelope answer and SDXL's raw PNG answer, both as bytes with sizes; envelope errors."""

from __future__ import annotations

import asyncio
import base64
import struct
from typing import Any

import httpx
import pytest

import llmkit
from llmkit._errors import AuthenticationError, BadRequestError, ConfigError, UnsupportedFeatureError
from llmkit.modalities.cloudflare import image_info
from llmkit.testing import Emulator
from llmkit.testing._cloudflare_images import jpeg, png

FLUX = "cloudflare/@cf/black-forest-labs/flux-1-schnell"
SDXL = "cloudflare/@cf/stabilityai/stable-diffusion-xl-base-1.0"
LIGHTNING = "cloudflare/@cf/bytedance/stable-diffusion-xl-lightning"


def cf(emu: Emulator, **extra: Any) -> llmkit.Client:
    cfg = {"api_key": "cf-token", "base_url": emu.base_url("cloudflare"), "account_id": "acc123", "max_retries": 0}
    return llmkit.Client(providers={"cloudflare": {**cfg, **extra}})


def test_flux_answers_base64_in_the_envelope(emu: Emulator) -> None:
    with cf(emu) as c:
        resp = c.generate_image(FLUX, "a red panda", extra_body={"steps": 6})
    (req,) = emu.requests
    assert (req.method, req.path, req.query) == (
        "POST",
        "/cloudflare/accounts/acc123/ai/run/@cf/black-forest-labs/flux-1-schnell",
        {},
    )
    assert req.headers["authorization"] == "Bearer cf-token"
    assert req.json() == {"prompt": "a red panda", "steps": 6}
    (img,) = resp.images
    assert img.data == jpeg(1024, 1024) and img.url is None
    assert (img.media_type, img.width, img.height) == ("image/jpeg", 1024, 1024)
    assert resp.raw["success"] is True and resp.raw["result"]["image"] == base64.b64encode(img.data).decode()
    assert (resp.provider, resp.model) == ("cloudflare", "@cf/black-forest-labs/flux-1-schnell")


@pytest.mark.parametrize("model", [SDXL, LIGHTNING])
def test_sdxl_answers_raw_png_bytes(emu: Emulator, model: str) -> None:
    with cf(emu) as c:
        resp = c.generate_image(model, "a glacier", size="512x768", extra_body={"num_steps": 8, "seed": 3})
    req = emu.last_request
    assert req.path == "/cloudflare/accounts/acc123/ai/run/" + model.removeprefix("cloudflare/")
    assert req.json() == {"prompt": "a glacier", "width": 512, "height": 768, "num_steps": 8, "seed": 3}
    (img,) = resp.images
    assert img.data == png(512, 768)
    assert (img.media_type, img.width, img.height, img.url) == ("image/png", 512, 768, None)
    assert resp.raw is None


def test_the_documented_flux_answer_parses(emu: Emulator) -> None:
    # The shape Cloudflare documents: {"result": {"image": "<base64>"}, "success": true, ...}.
    body = {
        "result": {"image": base64.b64encode(jpeg(768, 512)).decode()},
        "success": True,
        "errors": [],
        "messages": [],
    }
    emu.queue_json("cloudflare", body)
    with cf(emu) as c:
        (img,) = c.generate_image(FLUX, "x").images
    assert (img.media_type, img.width, img.height) == ("image/jpeg", 768, 512)


def test_unknown_input_field_is_cloudflares_5006(emu: Emulator) -> None:
    with cf(emu) as c, pytest.raises(BadRequestError) as exc:
        c.generate_image(FLUX, "x", size="512x512")  # FLUX.1 [schnell] takes no width/height
    assert (exc.value.status, exc.value.code) == (400, "5006")
    assert "height" in str(exc.value) or "width" in str(exc.value)


def test_out_of_range_steps_is_refused_by_the_provider(emu: Emulator) -> None:
    with cf(emu) as c, pytest.raises(BadRequestError, match="steps"):
        c.generate_image(FLUX, "x", extra_body={"steps": 9})


def test_envelope_auth_error_is_typed(emu: Emulator) -> None:
    envelope = {
        "result": None,
        "success": False,
        "errors": [{"code": 10000, "message": "Authentication error"}],
        "messages": [],
    }
    # The emulator itself refuses a call without the bearer token, in the envelope.
    raw = httpx.post(
        emu.base_url("cloudflare") + "/accounts/acc123/ai/run/@cf/black-forest-labs/flux-1-schnell",
        json={"prompt": "x"},
    )
    assert (raw.status_code, raw.json()) == (401, envelope)
    emu.queue_json("cloudflare", envelope, 401)
    with cf(emu) as c, pytest.raises(AuthenticationError) as exc:
        c.generate_image(FLUX, "x")
    assert (exc.value.status, exc.value.code, str(exc.value)) == (
        401,
        "10000",
        "[cloudflare HTTP 401 10000] Authentication error",
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"n": 2}, UnsupportedFeatureError, "one image per call"),
        ({"n": 0}, ConfigError, "n must be a positive integer"),
        ({"quality": "hd"}, UnsupportedFeatureError, "quality"),
        ({"response_format": "url"}, UnsupportedFeatureError, "as bytes"),
        ({"size": "16:9"}, UnsupportedFeatureError, "size '16:9'"),
    ],
)
def test_options_workers_ai_lacks_raise_before_any_request(
    emu: Emulator, kwargs: dict[str, Any], error: type[Exception], needle: str
) -> None:
    with cf(emu) as c, pytest.raises(error, match=needle):
        c.generate_image(SDXL, "x", **kwargs)
    assert emu.requests == []


def test_account_id_and_image_model_are_checked_before_any_request(emu: Emulator) -> None:
    with cf(emu, account_id=None) as c, pytest.raises(ConfigError, match="account id"):
        c.generate_image(FLUX, "x")
    with cf(emu) as c, pytest.raises(UnsupportedFeatureError, match="chat model"):
        c.generate_image("cloudflare/@cf/meta/llama-3.1-8b-instruct", "x")
    assert emu.requests == []


def test_image_info_reads_png_jpeg_and_webp_headers() -> None:
    assert image_info(png(3, 2)) == ("image/png", 3, 2)
    assert image_info(jpeg(640, 480)) == ("image/jpeg", 640, 480)
    webp = b"RIFF" + struct.pack("<I", 4) + b"WEBP"
    assert image_info(webp) == ("image/webp", None, None)
    assert image_info(b"nope") == ("application/octet-stream", None, None)


def test_async_raw_png(emu: Emulator) -> None:
    async def run() -> llmkit.ImageResponse:
        cfg = {"api_key": "cf-token", "base_url": emu.base_url("cloudflare"), "account_id": "acc123", "max_retries": 0}
        async with llmkit.AsyncClient(providers={"cloudflare": cfg}) as ac:
            return await ac.generate_image(LIGHTNING, "async glacier", size="256x256")

    (img,) = asyncio.run(run()).images
    assert emu.last_request.json() == {"prompt": "async glacier", "width": 256, "height": 256}
    assert (img.data, img.width, img.height) == (png(256, 256), 256, 256)
