"""Replicate image models on the wire: generate_image as a prediction (Prefer: wait, polls,
cancel on timeout), by name and by version, option mapping, file URLs, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    TimeoutError,
    UnsupportedFeatureError,
)
from llmkit._transport import DEADLINE_CODE
from llmkit.testing import Emulator
from llmkit.testing._replicate_emu import latency

SCHNELL = "replicate/black-forest-labs/flux-schnell"
SDXL_VERSION = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"


def rep(emu: Emulator, **extra: Any) -> llmkit.Client:
    cfg = {"api_key": "r8_token", "base_url": emu.base_url("replicate"), "max_retries": 0, "poll_interval": 0.001}
    return llmkit.Client(providers={"replicate": {**cfg, **extra}})


def calls(emu: Emulator) -> list[tuple[str, str]]:
    return [(r.method, r.subpath) for r in emu.requests]


def test_flux_schnell_by_name_with_prefer_wait(emu: Emulator) -> None:
    with rep(emu) as c:
        resp = c.generate_image(
            SCHNELL, "a lighthouse", n=2, size="16:9", extra_body={"seed": 7, "output_format": "png"}
        )
    (req,) = emu.requests
    assert (req.method, req.path, req.query) == (
        "POST",
        "/replicate/v1/models/black-forest-labs/flux-schnell/predictions",
        {},
    )
    assert req.headers["authorization"] == "Bearer r8_token"
    assert req.headers["prefer"] == "wait=60"
    assert req.json() == {
        "input": {"prompt": "a lighthouse", "num_outputs": 2, "aspect_ratio": "16:9", "seed": 7, "output_format": "png"}
    }
    pid = resp.raw["id"]
    assert [(i.url, i.media_type, i.data, i.width) for i in resp.images] == [
        (f"https://replicate.delivery/xezq/{pid}/out-0.png", "image/png", None, None),
        (f"https://replicate.delivery/xezq/{pid}/out-1.png", "image/png", None, None),
    ]
    assert (resp.provider, resp.model, resp.raw["status"]) == (
        "replicate",
        "black-forest-labs/flux-schnell",
        "succeeded",
    )


def test_unfinished_prediction_is_polled_then_parsed(emu: Emulator) -> None:
    latency(emu, 2)
    with rep(emu, wait=5) as c:
        resp = c.generate_image(SCHNELL, "a fox")
    pid = resp.raw["id"]
    assert calls(emu) == [
        ("POST", "/models/black-forest-labs/flux-schnell/predictions"),
        ("GET", f"/predictions/{pid}"),
        ("GET", f"/predictions/{pid}"),
    ]
    assert emu.requests[0].headers["prefer"] == "wait=5"
    assert all(r.headers["authorization"] == "Bearer r8_token" for r in emu.requests)
    assert [i.url for i in resp.images] == [f"https://replicate.delivery/xezq/{pid}/out-0.webp"]
    assert resp.images[0].media_type == "image/webp"


def test_cancels_on_timeout_and_never_retries(emu: Emulator) -> None:
    latency(emu, -1)
    with rep(emu, job_timeout=0.02, max_retries=2) as c, pytest.raises(TimeoutError) as exc:
        c.generate_image(SCHNELL, "slow")
    assert exc.value.code == DEADLINE_CODE
    methods = calls(emu)
    assert methods[0][0] == "POST" and methods[-1][0] == "POST" and methods[-1][1].endswith("/cancel")
    assert sum(1 for m, p in methods if m == "POST" and p.endswith("/predictions")) == 1  # never re-created


def test_version_id_goes_to_predictions_with_pixel_size(emu: Emulator) -> None:
    with rep(emu) as c:
        resp = c.generate_image(f"replicate/stability-ai/sdxl:{SDXL_VERSION}", "a castle", size="1024x768")
    req = emu.last_request
    assert (req.method, req.subpath, req.headers["prefer"]) == ("POST", "/predictions", "wait=60")
    assert req.json() == {
        "version": f"stability-ai/sdxl:{SDXL_VERSION}",
        "input": {"prompt": "a castle", "width": 1024, "height": 768},
    }
    (img,) = resp.images
    assert (img.media_type, img.width, img.height) == ("image/png", 1024, 768)
    assert img.url is not None and img.url.endswith("/out-0.png")


def test_single_url_output_and_custom_size(emu: Emulator) -> None:
    with rep(emu) as c:
        resp = c.generate_image(
            "replicate/black-forest-labs/flux-1.1-pro",
            "a bridge",
            size="1024x768",
            extra_body={"aspect_ratio": "custom"},
        )
    assert emu.last_request.json() == {
        "input": {"prompt": "a bridge", "width": 1024, "height": 768, "aspect_ratio": "custom"}
    }
    (img,) = resp.images
    assert img.url == f"https://replicate.delivery/xezq/{resp.raw['id']}/tmp.webp"
    assert (img.width, img.height, img.media_type) == (1024, 768, "image/webp")


def test_data_uri_output_becomes_bytes(emu: Emulator) -> None:
    emu.queue_json(
        "replicate",
        {"id": "p1", "status": "succeeded", "input": {"prompt": "x"}, "output": ["data:image/png;base64,iVBORw0KGgo="]},
        201,
    )
    with rep(emu) as c:
        (img,) = c.generate_image(SCHNELL, "x").images
    assert (img.data, img.url, img.media_type) == (b"\x89PNG\r\n\x1a\n", None, "image/png")


def test_invalid_input_is_replicates_422(emu: Emulator) -> None:
    with rep(emu) as c, pytest.raises(BadRequestError) as exc:
        c.generate_image(SCHNELL, "too many", n=5)
    assert exc.value.status == 422
    assert "input.num_outputs: Must be less than or equal to 4" in str(exc.value)
    assert exc.value.body["invalid_fields"][0]["field"] == "input.num_outputs"


def test_failed_prediction_raises_its_error(emu: Emulator) -> None:
    failed = {"id": "p2", "status": "failed", "error": "NSFW content detected", "output": None}
    emu.queue_json("replicate", failed, 201)
    with rep(emu) as c, pytest.raises(APIError) as exc:
        c.generate_image(SCHNELL, "x")
    assert "NSFW content detected" in str(exc.value) and exc.value.request_id == "p2"


def test_text_output_is_not_taken_for_images(emu: Emulator) -> None:
    emu.queue_json("replicate", {"id": "p3", "status": "succeeded", "output": ["Hel", "lo"]}, 201)
    with rep(emu) as c, pytest.raises(llmkit.LLMKitError, match="not an image model"):
        c.generate_image(f"replicate/someone/some-model:{SDXL_VERSION}", "x")


def test_bad_auth_is_typed(emu: Emulator) -> None:
    with rep(emu) as c:
        emu.queue_error("replicate", 401, "You did not pass a valid authentication token")
        with pytest.raises(AuthenticationError):
            c.generate_image(SCHNELL, "x")


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"quality": "hd"}, UnsupportedFeatureError, "quality"),
        ({"response_format": "b64_json"}, UnsupportedFeatureError, "b64_json"),
        ({"size": "large"}, UnsupportedFeatureError, "size 'large'"),
        ({"n": 0}, ConfigError, "n must be a positive integer"),
    ],
)
def test_options_replicate_lacks_raise_before_any_request(
    emu: Emulator, kwargs: dict[str, Any], error: type[Exception], needle: str
) -> None:
    with rep(emu) as c, pytest.raises(error, match=needle):
        c.generate_image(SCHNELL, "x", **kwargs)
    assert emu.requests == []


def test_chat_model_is_refused_before_any_request(emu: Emulator) -> None:
    with rep(emu) as c, pytest.raises(UnsupportedFeatureError, match="chat model"):
        c.generate_image("replicate/meta/meta-llama-3-8b-instruct", "x")
    assert emu.requests == []


def test_async_polls_and_parses(emu: Emulator) -> None:
    latency(emu, 1)

    async def run() -> llmkit.ImageResponse:
        cfg = {"api_key": "r8_token", "base_url": emu.base_url("replicate"), "max_retries": 0, "poll_interval": 0.001}
        async with llmkit.AsyncClient(providers={"replicate": cfg}) as ac:
            return await ac.generate_image(SCHNELL, "async fox", size="4:3")

    resp = asyncio.run(run())
    assert [m for m, _ in calls(emu)] == ["POST", "GET"]
    assert emu.requests[0].json() == {"input": {"prompt": "async fox", "aspect_ratio": "4:3"}}
    assert len(resp.images) == 1 and resp.images[0].url is not None
