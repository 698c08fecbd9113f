"""What the emulated embedding, rerank, audio and image endpoints share: a deterministic
"model" for each (vectors, relevance, transcripts, audio, images) and a strict reader of
multipart/form-data uploads.

Deterministic on purpose, like `_brain`: the same request always gets the same answer, so
tests (llmkit's and its users') can assert exact values.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import re
import struct
from typing import Any

import attrs

from ._brain import count_tokens

__all__ = [
    "FormData",
    "MultipartError",
    "audio_for",
    "catalog_models",
    "image_bytes",
    "parse_multipart",
    "relevance",
    "transcript_of",
    "vector",
    "vector_base64",
]

_AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "ulaw": "audio/basic",
    "alaw": "audio/basic",
    "linear16": "audio/l16",
}


def catalog_models(provider: str, capability: str) -> set[str]:
    """Ids (and aliases) of a provider's catalogued models that have `capability`."""
    from ..generated.catalog import MODELS

    out: set[str] = set()
    for m in MODELS:
        if m.provider == provider and m.capabilities.has(capability):
            out.add(m.id)
            out.update(m.aliases)
    return out


def vector(text: str, dims: int) -> list[float]:
    """A deterministic embedding: each value is k/256 for k in [-128, 127], so it is exact in
    float32 and in JSON, and tests can compare it with ==."""
    out: list[float] = []
    block = 0
    while len(out) < dims:
        digest = hashlib.sha256(f"{text}#{block}".encode()).digest()
        out.extend((b - 128) / 256 for b in digest)
        block += 1
    return out[:dims]


def vector_base64(values: list[float]) -> str:
    import base64

    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def relevance(query: str, document: str) -> float:
    """Share of the query's words found in the document, nudged by a hash to break ties."""
    q = {w.lower() for w in re.findall(r"\w+", query)}
    d = {w.lower() for w in re.findall(r"\w+", document)}
    overlap = len(q & d) / len(q) if q else 0.0
    tie = hashlib.sha256(document.encode()).digest()[0] / 256 / 100
    return round(overlap * 0.9 + tie, 6)


def transcript_of(audio: bytes) -> str:
    """The emulator "hears" UTF-8 text in the audio bytes (tests send text as audio);
    anything else is transcribed as a fixed sentence naming its size."""
    try:
        text = audio.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = ""
    if text and text.isprintable():
        return text
    return f"emulated transcript of {len(audio)} bytes"


def words_with_times(text: str) -> list[tuple[str, float, float]]:
    """Each word takes half a second."""
    return [(w, i * 0.5, i * 0.5 + 0.5) for i, w in enumerate(text.split())]


def audio_for(text: str, voice: str, fmt: str) -> tuple[bytes, str]:
    """Synthesised "audio": a tagged byte string, and its media type."""
    body = f"EMU-AUDIO format={fmt} voice={voice}\n{text}\n".encode() * 4
    return body, _AUDIO_TYPES.get(fmt.split("_")[0], "application/octet-stream")


def image_bytes(prompt: str, index: int) -> bytes:
    """A PNG signature followed by the prompt: enough for tests to check what came back."""
    return b"\x89PNG\r\n\x1a\n" + f"{index}:{prompt}".encode()


def input_tokens(texts: list[str]) -> int:
    return sum(max(count_tokens(t), 1) for t in texts)


class MultipartError(ValueError):
    """A body that is not valid multipart/form-data."""


@attrs.define
class FormData:
    """Form fields (repeatable) and files (name -> (filename, content type, bytes))."""

    fields: dict[str, list[str]] = attrs.field(factory=dict)
    files: dict[str, tuple[str, str, bytes]] = attrs.field(factory=dict)

    def one(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None


def parse_multipart(content_type: str, body: bytes) -> FormData:
    """Parse a multipart/form-data body as a strict server would."""
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        raise MultipartError(f"expected multipart/form-data with a boundary, got {content_type or 'no content type'!r}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise MultipartError("the body is not multipart")
    form = FormData()
    for part in msg.iter_parts():
        disposition = part.get("content-disposition", "")
        if not disposition.startswith("form-data"):
            raise MultipartError("every part needs Content-Disposition: form-data")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise MultipartError("a form part has no name")
        payload: Any = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            form.files[name] = (filename, part.get_content_type(), bytes(payload))
        else:
            form.fields.setdefault(name, []).append(bytes(payload).decode("utf-8"))
    return form
