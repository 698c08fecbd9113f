"""Emulated Deepgram pre-recorded listen and Aura speak under `/deepgram`.

`Authorization: Token <key>`; errors in the legacy `{"err_code", "err_msg", "request_id"}`
shape. Listen takes raw audio with an audio Content-Type (or JSON `{"url"}`) and checks its
query options against the documented list, so a misspelt option fails as a 400 here rather
than being silently ignored. `multichannel=true` answers one channel per `|`-separated part
of the "heard" text (the emulator's stand-in for a stereo recording); `summarize=v2`,
`sentiment`, `topics` and `intents` add their results (see `_deepgram_intel`).
"""

from __future__ import annotations

from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import deepgram as wire
from ._deepgram_intel import intelligence_results
from ._media_emu import audio_for, catalog_models, transcript_of, words_with_times
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "DeepgramHandler"]

_REQUEST_ID = "6b1d1f5e-0000-4000-8000-00000000e001"
_BOOL_OPTIONS = {
    "punctuate", "smart_format", "diarize", "utterances", "paragraphs", "detect_entities", "sentiment", "topics",
    "intents", "filler_words", "multichannel", "numerals", "profanity_filter", "dictation", "measurements",
    "mip_opt_out", "detect_language",
}  # fmt: skip
_OTHER_OPTIONS = {
    "model", "language", "keyterm", "keywords", "tag", "redact", "replace", "search", "callback", "callback_method",
    "summarize", "diarize_model", "encoding", "utt_split", "version", "extra", "custom_topic", "custom_intent",
}  # fmt: skip
_ENCODINGS = {"mp3", "linear16", "opus", "flac", "aac", "mulaw", "alaw"}
_CONTAINERS = {"wav", "ogg", "none"}
_MEDIA = {"mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac", "aac": "audio/aac", "mulaw": "audio/basic"}


class DeepgramHandler:
    provider = "deepgram"
    prefix = "/deepgram"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        code = kind or {
            400: "Bad Request",
            401: "INVALID_AUTH",
            402: "ASR_PAYMENT_REQUIRED",
            429: "TOO_MANY_REQUESTS",
        }.get(status, "INTERNAL_SERVER_ERROR")
        body = {"err_code": code, "err_msg": message, "request_id": _REQUEST_ID}
        return EmuResponse.json(body, status, {"dg-request-id": _REQUEST_ID})

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Token ") or (emu.require_key is not None and auth[6:] != emu.require_key):
            return self.error(401, "Invalid credentials.")
        if req.method == "POST" and req.subpath == "/v1/listen":
            return self._listen(req)
        if req.method == "POST" and req.subpath == "/v1/speak":
            return self._speak(req)
        return self.error(404, f"Not found: {req.method} {req.path}", "NOT_FOUND")

    def _listen(self, req: EmuRequest) -> EmuResponse:
        unknown = sorted(set(req.query) - _BOOL_OPTIONS - _OTHER_OPTIONS)
        if unknown:
            return self.error(400, f"Unknown query parameter: {unknown[0]}")
        for k in _BOOL_OPTIONS & set(req.query):
            if req.query[k] not in ("true", "false") and k != "detect_language":
                return self.error(400, f"Invalid value for {k}: expected true or false, got {req.query[k]!r}")
        summarize = req.query.get("summarize")
        if summarize is not None and summarize not in ("v2", "false"):
            return self.error(400, f"Invalid value for summarize: {summarize!r}; use v2")
        model = req.query.get("model", "base")
        if model not in catalog_models(self.provider, "transcription"):
            return self.error(400, f"No such model: {model}", "INVALID_MODEL")
        ctype = req.headers.get("content-type", "").split(";")[0].strip()
        if ctype == "application/json":
            body = req.json()
            try:
                structure_strict(body, wire.ListenUrlRequest)
            except WireValidationError as exc:
                return self.error(400, f"Invalid JSON body: {exc.reason}")
            audio = f"audio at {body['url']}".encode()
        elif ctype.startswith("audio/") or ctype in ("application/octet-stream", "video/mp4"):
            audio = req.body
        else:
            return self.error(415, f"Unsupported Content-Type {ctype or '(none)'}: send audio bytes or JSON {{url}}")
        if not audio:
            return self.error(400, "Bad Request: failed to process audio: corrupt or unsupported data", "Bad Request")
        return EmuResponse.json(
            _listen_body(transcript_of(audio), model, req.query), headers={"dg-request-id": _REQUEST_ID}
        )

    def _speak(self, req: EmuRequest) -> EmuResponse:
        model = req.query.get("model", "aura-asteria-en")
        if model not in catalog_models(self.provider, "speech"):
            return self.error(400, f"No such model: {model}", "INVALID_MODEL")
        unknown = sorted(set(req.query) - {"model", "encoding", "container", "sample_rate", "bit_rate", "speed"})
        if unknown:
            return self.error(400, f"Unknown query parameter: {unknown[0]}")
        encoding = req.query.get("encoding", "mp3")
        container = req.query.get("container")
        if encoding not in _ENCODINGS or (container is not None and container not in _CONTAINERS):
            return self.error(400, f"Unsupported encoding/container: {encoding}/{container}")
        try:
            body = structure_strict(req.json(), wire.SpeakRequest)
        except (ValueError, WireValidationError) as exc:
            return self.error(400, f"Invalid JSON body: {exc}")
        fmt = "wav" if container == "wav" else ("pcm" if encoding == "linear16" else encoding)
        audio, media = audio_for(body.text, model, fmt)
        media = _MEDIA.get(encoding, media)
        return EmuResponse(
            status=200,
            headers={"content-type": media, "dg-request-id": _REQUEST_ID},
            chunks=[audio[i : i + 64] for i in range(0, len(audio), 64)],
        )


def _listen_body(text: str, model: str, query: dict[str, str]) -> dict[str, Any]:
    parts = [p.strip() for p in text.split("|")] if query.get("multichannel") == "true" else [text]
    channels = [_channel(part, query) for part in parts]
    duration = max(len(words_with_times(p)) for p in parts) * 0.5
    results: dict[str, Any] = {"channels": [c for c, _ in channels]}
    if query.get("utterances") == "true":
        results["utterances"] = [
            {"start": 0.0, "end": len(words_with_times(part)) * 0.5, "confidence": 0.99, "channel": i,
             "transcript": part, "words": words, "speaker": 0, "id": f"00000000-0000-4000-8000-0000000000u{i}"}
            for i, (part, (_, words)) in enumerate(zip(parts, channels, strict=True))
        ]  # fmt: skip
    results.update(intelligence_results(" ".join(parts), query))
    return {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": _REQUEST_ID,
            "sha256": "0" * 64,
            "created": "2026-01-01T00:00:00.000Z",
            "duration": duration,
            "channels": len(parts),
            "models": ["30089e05-99d1-4376-b32e-c263170674af"],
            "model_info": {
                "30089e05-99d1-4376-b32e-c263170674af": {"name": model, "version": "2025-01-01", "arch": model}
            },
        },
        "results": results,
    }


def _channel(text: str, query: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One channel of the answer, and its words."""
    timed = words_with_times(text)
    diarize = query.get("diarize") == "true"
    words = []
    for w, s, e in timed:
        item: dict[str, Any] = {"word": w.lower().strip(".,!?"), "start": s, "end": e, "confidence": 0.99}
        if query.get("punctuate") == "true" or query.get("smart_format") == "true":
            item["punctuated_word"] = w
        if diarize:
            item["speaker"] = 0
            item["speaker_confidence"] = 0.9
        words.append(item)
    channel: dict[str, Any] = {"alternatives": [{"transcript": text, "confidence": 0.99, "words": words}]}
    if query.get("detect_language") not in (None, "false"):
        channel["detected_language"] = "en"
        channel["language_confidence"] = 0.98
    return channel, words


HANDLER = DeepgramHandler()
