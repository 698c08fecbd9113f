"""fal on the wire: generate_image through the queue (submit -> status -> result, on
owner/alias URLs), the sync route, the webhook, cancellation on timeout, option mapping, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import llmkit
from llmkit._errors import AuthenticationError, ConfigError, TimeoutError, UnsupportedFeatureError
from llmkit._transport import DEADLINE_CODE
from llmkit.testing import Emulator
from llmkit.testing._fal_emu import latency

MODEL = "fal/fal-ai/flux/schnell"


def fal(emu: Emulator, **extra: Any) -> llmkit.Client:
    cfg = {"api_key": "fal_key", "base_url": emu.base_url("fal"), "max_retries": 0, "poll_interval": 0.001}
    return llmkit.Client(providers={"fal": {**cfg, **extra}})


def calls(emu: Emulator) -> list[tuple[str, str]]:
    return [(r.method, r.subpath) for r in emu.requests]


def test_queue_submit_status_result(emu: Emulator) -> None:
    latency(emu, 2)
    with fal(emu) as c:
        resp = c.generate_image(MODEL, "swiss alps", n=2, size="1024x768", extra_body={"num_inference_steps": 4})
    submit = emu.requests[0]
    rid = calls(emu)[1][1].split("/")[4]
    assert calls(emu) == [
        ("POST", "/fal-ai/flux/schnell"),
        ("GET", f"/fal-ai/flux/requests/{rid}/status"),
        ("GET", f"/fal-ai/flux/requests/{rid}/status"),
        ("GET", f"/fal-ai/flux/requests/{rid}"),
    ]
    assert submit.json() == {
        "prompt": "swiss alps",
        "num_images": 2,
        "image_size": {"width": 1024, "height": 768},
        "num_inference_steps": 4,
    }
    assert submit.query == {} and "prefer" not in submit.headers
    assert all(r.headers["authorization"] == "Key fal_key" for r in emu.requests)
    assert [(i.url, i.width, i.height, i.media_type, i.data) for i in resp.images] == [
        ("https://v3.fal.media/files/rabbit/emu0.png", 1024, 768, "image/png", None),
        ("https://v3.fal.media/files/rabbit/emu1.png", 1024, 768, "image/png", None),
    ]
    assert (resp.provider, resp.model, resp.raw["prompt"]) == ("fal", "fal-ai/flux/schnell", "swiss alps")


def test_webhook_url_goes_on_the_submit(emu: Emulator) -> None:
    with fal(emu, webhook_url="https://example.com/fal-hook?x=1") as c:
        c.generate_image(MODEL, "a cat", size="square_hd")
    submit = emu.requests[0]
    assert submit.query == {"fal_webhook": "https://example.com/fal-hook?x=1"}
    assert submit.json() == {"prompt": "a cat", "image_size": "square_hd"}


def test_sync_mode_is_one_request_to_run_url(emu: Emulator) -> None:
    with fal(emu, mode="sync", run_url=emu.base_url("fal") + "/run") as c:
        resp = c.generate_image(MODEL, "inline please", extra_body={"sync_mode": True})
    (req,) = emu.requests
    assert (req.method, req.path, req.headers["authorization"]) == (
        "POST",
        "/fal/run/fal-ai/flux/schnell",
        "Key fal_key",
    )
    (img,) = resp.images
    assert img.url is None and img.media_type == "image/png" and img.data is not None
    assert img.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_cancels_on_timeout_and_never_retries(emu: Emulator) -> None:
    latency(emu, -1)
    with fal(emu, job_timeout=0.02, max_retries=2) as c:
        with pytest.raises(TimeoutError, match="cancelled") as info:
            c.generate_image(MODEL, "never")
        assert info.value.code == DEADLINE_CODE
        assert calls(emu)[-1][0] == "PUT" and calls(emu)[-1][1].endswith("/cancel")
        assert calls(emu)[-1][1].startswith("/fal-ai/flux/requests/")
        assert [m for m, _ in calls(emu)].count("POST") == 1


def test_native_queue_operations(emu: Emulator) -> None:
    latency(emu, 0)
    with fal(emu) as c:
        native = c.native("fal")
        sub = native.submit("fal-ai/flux/dev", {"prompt": "native"})
        assert len(emu.requests) == 1 and sub.status_url.endswith(f"/fal-ai/flux/requests/{sub.request_id}/status")
        status = native.get_status("fal-ai/flux", sub.request_id)
        assert emu.last_request.query == {"logs": "1"} and status.status == "COMPLETED"
        out = native.get_result("fal-ai/flux", sub.request_id)
        assert out["images"][0]["width"] == 1024
        other = native.submit("fal-ai/flux/dev", {"prompt": "stop me"})
        assert native.cancel("fal-ai/flux", other.request_id).status == "CANCELLATION_REQUESTED"
        assert (emu.last_request.method, emu.last_request.subpath) == (
            "PUT",
            f"/fal-ai/flux/requests/{other.request_id}/cancel",
        )


def test_options_fal_lacks_raise_before_any_request(emu: Emulator) -> None:
    with fal(emu) as c:
        with pytest.raises(UnsupportedFeatureError, match="quality"):
            c.generate_image(MODEL, "x", quality="hd")
        with pytest.raises(UnsupportedFeatureError, match="sync_mode"):
            c.generate_image(MODEL, "x", response_format="b64_json")
        with pytest.raises(UnsupportedFeatureError, match="does not support chat"):
            c.chat(MODEL, "hi")
    with pytest.raises(ConfigError, match="mode must be 'queue' or 'sync'"):
        fal(emu, mode="fast").generate_image(MODEL, "x")
    with pytest.raises(ConfigError, match="no API key for 'fal'"):
        llmkit.Client(providers={"fal": {"base_url": emu.base_url("fal")}}).generate_image(MODEL, "x")
    assert emu.requests == []


def test_errors_are_typed_with_fal_details(emu: Emulator) -> None:
    with fal(emu) as c:
        with pytest.raises(llmkit.APIError, match=r"body\.prompt: field required") as info:
            c.generate_image(MODEL, "x", extra_body={"prompt": ""})
        assert info.value.status == 422
        with pytest.raises(llmkit.APIError, match="Application 'fal-ai/nope' not found"):
            c.generate_image("fal/fal-ai/nope", "x")
    emu.require_key = "fal_key"
    with fal(emu, api_key="bad") as c, pytest.raises(AuthenticationError):
        c.generate_image(MODEL, "x")


def test_async_queue_flow(emu: Emulator) -> None:
    latency(emu, 1)

    async def main() -> int:
        cfg = {"api_key": "fal_key", "base_url": emu.base_url("fal"), "max_retries": 0, "poll_interval": 0.001}
        async with llmkit.AsyncClient(providers={"fal": cfg}) as c:
            resp = await c.generate_image(MODEL, "async alps")
            return len(resp.images)

    assert asyncio.run(main()) == 1
    assert [m for m, _ in calls(emu)] == ["POST", "GET", "GET"]
