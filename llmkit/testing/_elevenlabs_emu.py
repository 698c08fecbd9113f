"""Emulated ElevenLabs text-to-speech, speech-to-text and voices under `/elevenlabs`.

Voices: list, get, instant cloning (`POST /v1/voices/add`, multipart with one `files` part per
sample and `labels` as a JSON string) and delete; cloned voices live per emulator and can
then speak. The premade voices cannot be deleted (400, as ElevenLabs refuses).

`xi-api-key` header (quota exhaustion is a 401 `quota_exceeded`, as ElevenLabs does);
errors `{"detail": {"status", "message"}}`, validation errors 422 with a `detail` list;
voice ids in the path must exist; `output_format` must be one ElevenLabs knows.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import weakref
from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import elevenlabs as wire
from ._media_emu import MultipartError, audio_for, catalog_models, parse_multipart, transcript_of, words_with_times
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "VOICES", "ElevenLabsHandler"]

VOICES = {"21m00Tcm4TlvDq8ikWAM": "Rachel", "JBFqnCBsd6RMkjVDRZzb": "George"}
_FORMATS = (
    {
        "mp3_22050_32",
        "pcm_8000",
        "pcm_16000",
        "pcm_22050",
        "pcm_24000",
        "pcm_44100",
        "pcm_48000",
        "ulaw_8000",
        "alaw_8000",
    }
    | {f"mp3_44100_{b}" for b in (32, 64, 96, 128, 192)}
    | {f"opus_48000_{b}" for b in (32, 64, 96, 128, 192)}
)
_FORM_FIELDS = {
    "model_id", "language_code", "tag_audio_events", "num_speakers", "timestamps_granularity", "diarize",
    "diarization_threshold", "additional_formats", "file_format", "webhook", "temperature", "seed",
    "use_multi_channel", "cloud_storage_url",
}  # fmt: skip


_ADD_FIELDS = {"name", "description", "labels", "remove_background_noise"}


class ElevenLabsHandler:
    provider = "elevenlabs"
    prefix = "/elevenlabs"

    def __init__(self) -> None:
        self._cloned: weakref.WeakKeyDictionary[Emulator, dict[str, dict[str, Any]]] = weakref.WeakKeyDictionary()

    def voices(self, emu: Emulator) -> dict[str, dict[str, Any]]:
        """Every voice this emulator knows: the premade ones and those cloned on it."""
        premade = {v: {"voice_id": v, "name": n, "category": "premade", "labels": {}} for v, n in VOICES.items()}
        return {**premade, **self._cloned.setdefault(emu, {})}

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        if status == 422:
            return EmuResponse.json(
                {"detail": [{"loc": ["body", kind or "body"], "msg": message, "type": "value_error"}]}, 422
            )
        status_name = kind or {401: "invalid_api_key", 404: "not_found", 429: "too_many_concurrent_requests"}.get(
            status, "error"
        )
        return EmuResponse.json(
            {"detail": {"status": status_name, "message": message}}, status, {"request-id": "emu-el-1"}
        )

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        key = req.headers.get("xi-api-key")
        if not key or (emu.require_key is not None and key != emu.require_key):
            return self.error(401, "Invalid API key")
        parts = req.subpath.strip("/").split("/")
        if req.method == "GET" and req.subpath == "/v1/voices":
            return EmuResponse.json({"voices": list(self.voices(emu).values())})
        if req.method == "POST" and req.subpath == "/v1/voices/add":
            return self._add_voice(req, emu)
        if parts[:2] == ["v1", "voices"] and len(parts) == 3 and req.method in ("GET", "DELETE"):
            return self._voice(req, emu, parts[2])
        if req.method == "POST" and parts[:2] == ["v1", "text-to-speech"] and len(parts) in (3, 4):
            if len(parts) == 4 and parts[3] != "stream":
                return self.error(404, f"Not found: {req.path}")
            return self._tts(req, parts[2], emu)
        if req.method == "POST" and req.subpath == "/v1/speech-to-text":
            return self._stt(req)
        return self.error(404, f"Not found: {req.method} {req.path}")

    def _voice(self, req: EmuRequest, emu: Emulator, voice_id: str) -> EmuResponse:
        voice = self.voices(emu).get(voice_id)
        if voice is None:
            return self.error(404, f"A voice with the voice_id {voice_id} was not found.", "voice_not_found")
        if req.method == "GET":
            return EmuResponse.json(voice)
        if voice_id in VOICES:
            return self.error(400, "Premade voices cannot be deleted.", "voice_not_deletable")
        del self._cloned[emu][voice_id]
        return EmuResponse.json({"status": "ok"})

    def _add_voice(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        try:
            fields, samples = _form_parts(req.headers.get("content-type", ""), req.body)
        except MultipartError as exc:
            return self.error(422, str(exc), "body")
        unknown = sorted(set(fields) - _ADD_FIELDS)
        if unknown or any(name != "files" for name, _, _, _ in samples):
            return self.error(422, "Extra inputs are not permitted", unknown[0] if unknown else "files")
        if not fields.get("name"):
            return self.error(422, "Field required", "name")
        if not samples:
            return self.error(422, "Field required", "files")
        if any(not media.startswith("audio/") and media != "application/octet-stream" for _, _, media, _ in samples):
            return self.error(422, "Every sample must be an audio file", "files")
        try:
            labels = json.loads(fields.get("labels", "{}"))
        except ValueError:
            return self.error(422, "labels must be a JSON object serialised as a string", "labels")
        if not isinstance(labels, dict):
            return self.error(422, "labels must be a JSON object serialised as a string", "labels")
        if fields.get("remove_background_noise", "false") not in ("true", "false"):
            return self.error(422, "Input should be a valid boolean", "remove_background_noise")
        voice_id = f"emuVoice{len(self._cloned.setdefault(emu, {})) + 1:012d}"
        self._cloned[emu][voice_id] = {
            "voice_id": voice_id,
            "name": fields["name"],
            "category": "cloned",
            "labels": labels,
            "description": fields.get("description"),
            "samples": [{"file_name": filename, "size_bytes": len(data)} for _, filename, _, data in samples],
        }
        return EmuResponse.json({"voice_id": voice_id, "requires_verification": False})

    def _tts(self, req: EmuRequest, voice_id: str, emu: Emulator) -> EmuResponse:
        if voice_id not in self.voices(emu):
            return self.error(404, f"A voice with the voice_id {voice_id} was not found.", "voice_not_found")
        fmt = req.query.get("output_format", "mp3_44100_128")
        if fmt not in _FORMATS:
            return self.error(422, f"Input should be one of the output formats, got {fmt!r}", "output_format")
        try:
            body = structure_strict(req.json(), wire.TextToSpeechRequest)
        except (ValueError, WireValidationError) as exc:
            return self.error(422, str(exc), "body")
        model = body.model_id or "eleven_multilingual_v2"
        if model not in catalog_models(self.provider, "speech"):
            return self.error(400, f"Model {model} does not exist or cannot do text-to-speech.", "invalid_model_id")
        audio, media = audio_for(body.text, voice_id, fmt)
        headers = {"content-type": media, "request-id": "emu-el-tts", "x-character-count": str(len(body.text))}
        return EmuResponse(status=200, headers=headers, chunks=[audio[i : i + 64] for i in range(0, len(audio), 64)])

    def _stt(self, req: EmuRequest) -> EmuResponse:
        try:
            form = parse_multipart(req.headers.get("content-type", ""), req.body)
        except MultipartError as exc:
            return self.error(422, str(exc), "body")
        unknown = sorted(set(form.fields) - _FORM_FIELDS)
        if unknown:
            return self.error(422, f"Extra inputs are not permitted: {unknown[0]}", unknown[0])
        model = form.one("model_id")
        if model is None:
            return self.error(422, "Field required", "model_id")
        if model not in catalog_models(self.provider, "transcription"):
            return self.error(400, f"Model {model} does not exist or cannot do speech-to-text.", "invalid_model_id")
        upload = form.files.get("file")
        if upload is None and form.one("cloud_storage_url") is None:
            return self.error(422, "Either file or cloud_storage_url must be provided", "file")
        text = transcript_of(upload[2] if upload else b"remote audio")
        granularity = form.one("timestamps_granularity") or "word"
        words: list[dict[str, Any]] = []
        if granularity != "none":
            timed = words_with_times(text)
            for i, (w, s, e) in enumerate(timed):
                if i:
                    words.append({"text": " ", "start": s, "end": s, "type": "spacing", "speaker_id": "speaker_0"})
                words.append(
                    {"text": w, "start": s, "end": e, "type": "word", "speaker_id": "speaker_0", "logprob": -0.1}
                )
        return EmuResponse.json(
            {
                "language_code": form.one("language_code") or "eng",
                "language_probability": 0.98,
                "text": text,
                "words": words,
            }
        )


def _form_parts(content_type: str, body: bytes) -> tuple[dict[str, str], list[tuple[str, str, str, bytes]]]:
    """Form fields, and every file part in order as (part name, filename, media type, bytes):
    voice cloning repeats the part name `files`, which FormData keeps only once."""
    parse_multipart(content_type, body)  # the strict checks (boundary, dispositions, names)
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: list[tuple[str, str, str, bytes]] = []
    for part in msg.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload: Any = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = bytes(payload).decode("utf-8")
        else:
            files.append((name, filename, part.get_content_type(), bytes(payload)))
    return fields, files


HANDLER = ElevenLabsHandler()
