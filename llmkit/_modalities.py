"""The calls beyond chat on `llmkit.Client`: embed, rerank, transcribe, speak, generate_image
and count_tokens.

`ModalitiesMixin` relies only on the client core's `_spec`, `_context` and `_transport`
helpers; the family adapters in `llmkit.modalities` do the wire mapping. Every call checks the
model's capability before any request, so an unsupported call costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._errors import ConfigError
from ._modal_types import (
    EmbeddingResponse,
    ImageResponse,
    RerankResponse,
    SpeechResponse,
    SpeechStream,
    TokenCount,
    Transcription,
)
from ._types import ImagePart
from .modalities._base import (
    AudioInput,
    EmbedOptions,
    ImageOptions,
    RerankOptions,
    TranscribeOptions,
    audio_bytes,
)
from .modalities._http import content_type, decode_json, send
from .modalities._multimodal import EmbedInput, embed_items, embed_request
from .modalities._plan import (
    documents_list,
    join_embeddings,
    resolve,
    sorted_rerank,
    speech_options,
    split_batches,
    token_budget,
)
from .modalities._tokens import plan_count

if TYPE_CHECKING:
    from ._spec import ProviderSpec
    from ._transport import ProviderTransport
    from .dialects._base import CallContext

__all__ = ["ModalitiesMixin"]


class ModalitiesMixin:
    """Embeddings, rerank, speech-to-text, text-to-speech, images and token counts."""

    if TYPE_CHECKING:

        def _spec(self, provider: str) -> ProviderSpec: ...

        def _context(self, provider: str, model_id: str, spec: ProviderSpec) -> CallContext: ...

        def _transport(self, provider: str, spec: ProviderSpec) -> ProviderTransport: ...

    def embed(
        self,
        model: str,
        inputs: str | ImagePart | Sequence[EmbedInput],
        *,
        input_type: Literal["query", "document"] | None = None,
        dimensions: int | None = None,
        batch_size: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> EmbeddingResponse:
        """One vector per input, in order. Long lists are sent in batches within the
        provider's per-request limit (or `batch_size`, if smaller).

        `input_type` ("query" or "document") goes where the provider has it (Voyage
        input_type, Jina task, Gemini taskType); `dimensions` shortens vectors where offered.
        An input may be an image (`llmkit.ImagePart`, or an `image_url` dict) or a list of
        text and image parts, for models that embed images (Jina CLIP, Voyage multimodal).
        """
        r = resolve(self, model, "embeddings")
        opts = EmbedOptions(input_type=input_type, dimensions=dimensions, extra_body=extra_body)
        batches = split_batches(
            embed_items(inputs, r.ctx), r.adapter.embed_limit(r.ctx), batch_size, token_budget(r.ctx)
        )
        requests = [embed_request(r, b, opts) for b in batches]  # all built before any I/O
        t = self._transport(r.provider, r.spec)
        parts = [
            r.adapter.parse_embed_http(send(t, m, timeout), r.ctx, len(b))
            for b, m in zip(batches, requests, strict=True)
        ]
        return join_embeddings(parts, r.ctx)

    def rerank(
        self,
        model: str,
        query: str,
        documents: Sequence[str],
        *,
        top_n: int | None = None,
        return_documents: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> RerankResponse:
        """Documents ranked by relevance to `query`, best first, each with its original index."""
        r = resolve(self, model, "rerank")
        docs = documents_list(query, documents, top_n)
        opts = RerankOptions(top_n=top_n, return_documents=return_documents, extra_body=extra_body)
        m = r.adapter.rerank_request(query, docs, opts, r.ctx)
        data = decode_json(send(self._transport(r.provider, r.spec), m, timeout), r.provider)
        return sorted_rerank(r.adapter.parse_rerank(data, r.ctx, docs), docs, return_documents)

    def transcribe(
        self,
        model: str,
        audio: AudioInput,
        *,
        language: str | None = None,
        prompt: str | None = None,
        timestamps: bool = False,
        filename: str | None = None,
        media_type: str | None = None,
        options: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Transcription:
        """Text of an audio file given as bytes, a path or a binary file object.

        `timestamps=True` asks for words and segments with times; `options` passes
        provider-only fields (form fields or query parameters) as they are.
        """
        r = resolve(self, model, "transcription")
        data, name, mt = audio_bytes(audio, filename, media_type)
        opts = TranscribeOptions(
            language=language, prompt=prompt, timestamps=timestamps, filename=name, media_type=mt, extra=options
        )
        m = r.adapter.transcribe_request(data, opts, r.ctx)
        body = decode_json(send(self._transport(r.provider, r.spec), m, timeout), r.provider)
        return r.adapter.parse_transcription(body, r.ctx)

    def speak(
        self,
        model: str,
        text: str,
        *,
        voice: str | None = None,
        format: str | None = None,
        speed: float | None = None,
        instructions: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> SpeechResponse:
        """Synthesised speech as audio bytes; `speak_stream` yields it as it is made."""
        r = resolve(self, model, "speech")
        opts = speech_options(text, voice, format, speed, instructions, extra_body)
        m = r.adapter.speech_request(text, opts, r.ctx, stream=False)
        resp = send(self._transport(r.provider, r.spec), m, timeout)
        return SpeechResponse(
            audio=resp.content,
            content_type=content_type(resp),
            model=r.ctx.model,
            provider=r.provider,
            request_id=resp.headers.get("request-id") or resp.headers.get("x-request-id"),
        )

    def speak_stream(
        self,
        model: str,
        text: str,
        *,
        voice: str | None = None,
        format: str | None = None,
        speed: float | None = None,
        instructions: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> SpeechStream:
        """Speech as a stream of audio chunks: `for chunk in client.speak_stream(...)`."""
        r = resolve(self, model, "speech")
        opts = speech_options(text, voice, format, speed, instructions, extra_body)
        m = r.adapter.speech_request(text, opts, r.ctx, stream=True)
        opener = self._transport(r.provider, r.spec).stream(m.wire, timeout=timeout)
        return SpeechStream(opener, content_type, r.ctx.model, r.provider)

    def generate_image(
        self,
        model: str,
        prompt: str,
        *,
        n: int | None = None,
        size: str | None = None,
        response_format: Literal["url", "b64_json"] | None = None,
        quality: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> ImageResponse:
        """Images for a prompt, as bytes or URLs (as the provider and `response_format` give them)."""
        r = resolve(self, model, "image_generation")
        if not isinstance(prompt, str) or not prompt:
            raise ConfigError("generate_image needs a non-empty prompt string")
        opts = ImageOptions(n=n, size=size, response_format=response_format, quality=quality, extra_body=extra_body)
        m = r.adapter.image_request(prompt, opts, r.ctx)
        return r.adapter.parse_image_response(send(self._transport(r.provider, r.spec), m, timeout), r.ctx)

    def count_tokens(self, model: str, messages: Any, **params: Any) -> TokenCount:
        """Input tokens of these messages: the provider's own count where it has an endpoint
        (exact; Cohere's raw-text tokenizer gives an estimate), else a local count for
        OpenAI-family models (`exact` says which)."""
        plan = plan_count(self, model, messages, params)
        if plan.local is not None:
            return plan.local
        transport = self._transport(plan.provider, plan.spec)
        return plan.result([decode_json(transport.send(w), plan.provider) for w in plan.wires])
