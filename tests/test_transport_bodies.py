"""Raw-bytes and multipart uploads go through the transport's one retry loop, like JSON: a
429/503 is retried with the very same bytes (one multipart boundary, a file object read
once), the server's Retry-After is honoured, `total_timeout` bounds the whole upload, and a
SigV4 signature covers the exact bytes of every attempt. Against the strict emulator; waits
are recorded, never slept or timed."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import llmkit
from llmkit import _retry, _transport
from llmkit._transport import DEADLINE_CODE
from llmkit.dialects._base import WireRequest
from llmkit.testing import Emulator, EmuRequest, EmuResponse
from llmkit.testing._bedrock_emu import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
from llmkit.testing._media_emu import parse_multipart
from tests.test_modal_types import media_emu

AUDIO = b"RIFF" + bytes(range(256)) * 64  # 16 KiB: more than one read of a file object
TRAIN = b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n'
MODES = ["sync", "async"]


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry policy's waits, as decided (whichever loop asks); nothing really sleeps.

    The policy's decisions, not every sleep: a 429's Retry-After also pauses the client's rate
    limiter, and with sleeps that take no time that pause would show up as a second wait."""
    recorded: list[float] = []
    policy = _transport._Base.should_retry

    def spy(self: _transport._Base, *args: Any) -> float | None:
        wait = policy(self, *args)
        if wait is not None:
            recorded.append(wait)
        return wait

    async def asleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(_transport._Base, "should_retry", spy)
    monkeypatch.setattr(_retry, "_sleep", lambda seconds: None)
    monkeypatch.setattr(_retry, "_asleep", asleep)
    return recorded


def run(mode: str, emu: Emulator, call: Callable[[Any], Any], **settings: Any) -> Any:
    """`call(client)` on a sync Client, or awaited on an AsyncClient, with these settings."""
    providers = emu.providers_config(**settings)
    if mode == "sync":
        with llmkit.Client(providers=providers) as c:
            return call(c)

    async def go() -> Any:
        async with llmkit.AsyncClient(providers=providers) as ac:
            return await call(ac)

    return asyncio.run(go())


def transcribe_openai(c: Any) -> Any:
    return c.transcribe("openai/whisper-1", io.BytesIO(AUDIO), filename="take.wav", language="en")


def transcribe_deepgram(c: Any) -> Any:
    return c.transcribe("deepgram/nova-3", AUDIO, media_type="audio/wav")


def upload_file(c: Any) -> Any:
    return c.native("openai").create_file(file=("train.jsonl", TRAIN, "application/jsonl"), purpose="fine-tune")


def _same_bytes(requests: list[EmuRequest]) -> None:
    first = requests[0]
    for r in requests[1:]:
        assert (r.method, r.path) == (first.method, first.path)
        assert r.headers["content-type"] == first.headers["content-type"]  # one multipart boundary
        assert r.headers["content-length"] == str(len(first.body))
        assert r.body == first.body


@pytest.mark.parametrize("mode", MODES)
def test_multipart_transcription_is_retried_with_identical_bytes(emu: Emulator, waits: list[float], mode: str) -> None:
    media_emu(emu)
    emu.queue_error("openai", 429, "Rate limit reached", headers={"retry-after-ms": "1500"})
    emu.queue_error("openai", 503, "overloaded", headers={"retry-after": "2"})
    t = run(mode, emu, transcribe_openai, max_retries=2)
    assert waits == [1.5, 2.0]  # the server's hints, exactly
    assert len(emu.requests) == 3
    _same_bytes(emu.requests)
    for r in emu.requests:
        assert r.headers["authorization"] == "Bearer test-key"
        form = parse_multipart(r.headers["content-type"], r.body)
        assert form.files == {"file": ("take.wav", "audio/x-wav", AUDIO)}  # the whole file object, every time
        assert form.fields == {"model": ["whisper-1"], "language": ["en"], "response_format": ["json"]}
    assert t.provider == "openai" and t.model == "whisper-1"


@pytest.mark.parametrize("mode", MODES)
def test_native_file_upload_is_retried_with_identical_bytes(emu: Emulator, waits: list[float], mode: str) -> None:
    emu.queue_error("openai", 503, "overloaded", headers={"retry-after": "1"})
    f = run(mode, emu, upload_file, max_retries=1)
    assert waits == [1.0]
    assert len(emu.requests) == 2 and emu.last_request.path == "/openai/v1/files"
    _same_bytes(emu.requests)
    form = parse_multipart(emu.last_request.headers["content-type"], emu.last_request.body)
    assert form.fields == {"purpose": ["fine-tune"]}
    assert form.files == {"file": ("train.jsonl", "application/jsonl", TRAIN)}
    assert (f.filename, f.bytes, f.purpose) == ("train.jsonl", len(TRAIN), "fine-tune")


@pytest.mark.parametrize("mode", MODES)
def test_raw_audio_upload_is_retried_with_identical_bytes(emu: Emulator, waits: list[float], mode: str) -> None:
    emu.queue_error("deepgram", 429, "Too many requests", headers={"retry-after": "3"})
    emu.queue_error("deepgram", 503, "busy", headers={"retry-after": "0"})
    t = run(mode, emu, transcribe_deepgram, max_retries=2)
    assert waits == [3.0, 0.0]
    assert len(emu.requests) == 3
    _same_bytes(emu.requests)
    for r in emu.requests:
        assert (r.method, r.path, r.query) == ("POST", "/deepgram/v1/listen", {"model": "nova-3"})
        assert r.headers["authorization"] == "Token test-key" and r.headers["content-type"] == "audio/wav"
        assert r.body == AUDIO
    assert t.provider == "deepgram"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("provider", "call"),
    [("openai", transcribe_openai), ("openai", upload_file), ("deepgram", transcribe_deepgram)],
    ids=["multipart-modal", "multipart-native", "raw"],
)
def test_uploads_do_not_wait_past_total_timeout(
    emu: Emulator, waits: list[float], mode: str, provider: str, call: Callable[[Any], Any]
) -> None:
    """A wait hint longer than the time left ends the call at once with the server's error."""
    media_emu(emu)
    emu.queue_error(provider, 429, "slow down", headers={"retry-after": "30"})
    with pytest.raises(llmkit.RateLimitError) as err:
        run(mode, emu, call, max_retries=3, total_timeout=10)
    assert err.value.retry_after == 30.0
    assert waits == [] and len(emu.requests) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("provider", "call"),
    [("openai", transcribe_openai), ("openai", upload_file), ("deepgram", transcribe_deepgram)],
    ids=["multipart-modal", "multipart-native", "raw"],
)
def test_a_stalled_upload_ends_at_total_timeout(
    emu: Emulator, waits: list[float], mode: str, provider: str, call: Callable[[Any], Any]
) -> None:
    """A server that answers after the deadline: a TimeoutError naming total_timeout, no retry."""
    media_emu(emu)

    release, answered = threading.Event(), threading.Event()

    def late(req: EmuRequest) -> EmuResponse:
        release.wait(10.0)  # until the client has given up
        answered.set()
        return EmuResponse.json({"text": "too late"})

    emu.queue(provider, late)
    with pytest.raises(llmkit.TimeoutError) as err:
        run(mode, emu, call, max_retries=3, total_timeout=0.2)
    release.set()
    assert answered.wait(10.0)  # the server thread is done before the next test
    assert err.value.code == DEADLINE_CODE and "total_timeout=0.2s" in str(err.value)
    assert waits == [] and len(emu.requests) == 1


@pytest.fixture
def bedrock(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[llmkit.Client]:
    for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = {
        "base_url": emu.base_url("bedrock"),
        "aws_access_key_id": TEST_ACCESS_KEY_ID,
        "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
        "region": "us-west-2",
        "max_retries": 1,
    }
    with llmkit.Client(providers={"bedrock": settings}) as c:
        yield c


CONVERSE = "/model/amazon.nova-micro-v1%3A0/converse"


def test_a_retried_raw_body_is_signed_over_its_exact_bytes(
    emu: Emulator, waits: list[float], bedrock: llmkit.Client
) -> None:
    """SigV4 hashes the body: the retry is re-signed over the same bytes, which the emulator checks."""
    t = bedrock._transport("bedrock", bedrock._spec("bedrock"))
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}).encode()
    emu.queue_error("bedrock", 503, "busy", headers={"retry-after": "0"})
    resp = t.send(WireRequest(method="POST", path=CONVERSE, content=body, content_type="application/json"))
    assert json.loads(resp.content)["output"]["message"]["content"] == [{"text": "You said: Hi"}]
    assert len(emu.requests) == 2 and [r.body for r in emu.requests] == [body, body]
    first, second = (r.headers["authorization"] for r in emu.requests)
    assert first.startswith(f"AWS4-HMAC-SHA256 Credential={TEST_ACCESS_KEY_ID}/")
    assert "SignedHeaders=content-type;host;x-amz-date" in second


def test_a_retried_form_is_signed_over_the_bytes_sent(
    emu: Emulator, waits: list[float], bedrock: llmkit.Client
) -> None:
    """The form is encoded before signing: the emulator finds the signature good and only
    then refuses a body that is not Converse JSON (Bedrock's own 400, not a 403)."""
    t = bedrock._transport("bedrock", bedrock._spec("bedrock"))
    emu.queue_error("bedrock", 503, "busy", headers={"retry-after": "0"})
    req = WireRequest(method="POST", path=CONVERSE, form={"a": "1"}, files={"f": ("x.bin", io.BytesIO(AUDIO), "b/c")})
    with pytest.raises(llmkit.BadRequestError) as err:
        t.send(req)
    assert err.value.status == 400
    assert len(emu.requests) == 2
    _same_bytes(emu.requests)
    assert parse_multipart(emu.last_request.headers["content-type"], emu.last_request.body).files == {
        "f": ("x.bin", "b/c", AUDIO)
    }


def test_a_form_beside_a_json_body_is_refused_before_sending(emu: Emulator, client: llmkit.Client) -> None:
    t = client._transport("openai", client._spec("openai"))
    with pytest.raises(llmkit.ConfigError, match="both a form and a JSON or raw body"):
        t.send(WireRequest(method="POST", path="/files", body={"a": 1}, form={"b": "2"}))
    assert emu.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("provider", "call"),
    [("openai", transcribe_openai), ("deepgram", transcribe_deepgram)],
    ids=["multipart", "raw"],
)
def test_an_upload_is_never_redirected(
    emu: Emulator, waits: list[float], mode: str, provider: str, call: Callable[[Any], Any]
) -> None:
    """A 3xx to an upload is the transport's redirect error, not a success: the key and the
    file go nowhere the spec does not name."""
    media_emu(emu)
    emu.queue(provider, EmuResponse(status=307, headers={"location": "https://elsewhere.example/upload?k=1"}))
    with pytest.raises(llmkit.APIError, match="never follows redirects") as err:
        run(mode, emu, call, max_retries=2)
    assert err.value.status == 307 and "elsewhere.example" in str(err.value)
    assert waits == [] and len(emu.requests) == 1
