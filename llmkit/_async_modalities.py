"""The async twins of the calls beyond chat, for `llmkit.AsyncClient`.

Same planning and adapters as `ModalitiesMixin`; only the waiting differs. Embedding
batches go out concurrently (a few at a time) and come back in input order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._errors import ConfigError
from ._modal_types import (
    AsyncSpeechStream,
    EmbeddingResponse,
    ImageResponse,
    RerankResponse,
    SpeechResponse,
    TokenCount,
    Transcription,
)
from ._types import ImagePart
from .modalities._base import (
    AudioInput,
    EmbedOptions,
    ImageOptions,
    ModalRequest,
    RerankOptions,
    TranscribeOptions,
    audio_bytes,
)
from .modalities._http import asend, content_type, decode_json
from .modalities._multimodal import EmbedInput, EmbedItem, embed_items, embed_request
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
    from ._transport import AsyncProviderTransport
    from .dialects._base import CallContext

__all__ = ["AsyncModalitiesMixin"]

# Embedding batches in flight at once for one call: enough to hide latency, few enough not
# to trip a provider's rate limit on their own.
EMBED_CONCURRENCY = 4


class AsyncModalitiesMixin:
    """Async embeddings, rerank, speech-to-text, text-to-speech, images and token counts."""

    if TYPE_CHECKING:

        def _spec(self, provider: str) -> ProviderSpec: ...

        def _context(self, provider: str, model_id: str, spec: ProviderSpec) -> CallContext: ...

        def _transport(self, provider: str, spec: ProviderSpec) -> AsyncProviderTransport: ...

    async def embed(
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
        """Async twin of Client.embed."""
        r = resolve(self, model, "embeddings")
        opts = EmbedOptions(input_type=input_type, dimensions=dimensions, extra_body=extra_body)
        batches = split_batches(
            embed_items(inputs, r.ctx), r.adapter.embed_limit(r.ctx), batch_size, token_budget(r.ctx)
        )
        requests = [embed_request(r, b, opts) for b in batches]
        t = self._transport(r.provider, r.spec)
        gate = asyncio.Semaphore(EMBED_CONCURRENCY)

        async def one(batch: list[EmbedItem], m: ModalRequest) -> EmbeddingResponse:
            async with gate:
                resp = await asend(t, m, timeout)
            return r.adapter.parse_embed_http(resp, r.ctx, len(batch))

        parts = await asyncio.gather(*(one(b, m) for b, m in zip(batches, requests, strict=True)))
        return join_embeddings(parts, r.ctx)

    async def rerank(
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
        """Async twin of Client.rerank."""
        r = resolve(self, model, "rerank")
        docs = documents_list(query, documents, top_n)
        opts = RerankOptions(top_n=top_n, return_documents=return_documents, extra_body=extra_body)
        m = r.adapter.rerank_request(query, docs, opts, r.ctx)
        data = decode_json(await asend(self._transport(r.provider, r.spec), m, timeout), r.provider)
        return sorted_rerank(r.adapter.parse_rerank(data, r.ctx, docs), docs, return_documents)

    async def transcribe(
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
        """Async twin of Client.transcribe (a path or file is read before the upload)."""
        r = resolve(self, model, "transcription")
        data, name, mt = audio_bytes(audio, filename, media_type)
        opts = TranscribeOptions(
            language=language, prompt=prompt, timestamps=timestamps, filename=name, media_type=mt, extra=options
        )
        m = r.adapter.transcribe_request(data, opts, r.ctx)
        body = decode_json(await asend(self._transport(r.provider, r.spec), m, timeout), r.provider)
        return r.adapter.parse_transcription(body, r.ctx)

    async def speak(
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
        """Async twin of Client.speak."""
        r = resolve(self, model, "speech")
        opts = speech_options(text, voice, format, speed, instructions, extra_body)
        m = r.adapter.speech_request(text, opts, r.ctx, stream=False)
        resp = await asend(self._transport(r.provider, r.spec), m, timeout)
        return SpeechResponse(
            audio=resp.content,
            content_type=content_type(resp),
            model=r.ctx.model,
            provider=r.provider,
            request_id=resp.headers.get("request-id") or resp.headers.get("x-request-id"),
        )

    async def speak_stream(
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
    ) -> AsyncSpeechStream:
        """Async twin of Client.speak_stream: `async for chunk in await aclient.speak_stream(...)`."""
        r = resolve(self, model, "speech")
        opts = speech_options(text, voice, format, speed, instructions, extra_body)
        m = r.adapter.speech_request(text, opts, r.ctx, stream=True)
        opener = self._transport(r.provider, r.spec).stream(m.wire, timeout=timeout)
        return await AsyncSpeechStream(opener, content_type, r.ctx.model, r.provider)._open()

    async def generate_image(
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
        """Async twin of Client.generate_image."""
        r = resolve(self, model, "image_generation")
        if not isinstance(prompt, str) or not prompt:
            raise ConfigError("generate_image needs a non-empty prompt string")
        opts = ImageOptions(n=n, size=size, response_format=response_format, quality=quality, extra_body=extra_body)
        m = r.adapter.image_request(prompt, opts, r.ctx)
        return r.adapter.parse_image_response(await asend(self._transport(r.provider, r.spec), m, timeout), r.ctx)

    async def count_tokens(self, model: str, messages: Any, **params: Any) -> TokenCount:
        """Async twin of Client.count_tokens."""
        plan = plan_count(self, model, messages, params)
        if plan.local is not None:
            return plan.local
        transport = self._transport(plan.provider, plan.spec)
        return plan.result([decode_json(await transport.send(w), plan.provider) for w in plan.wires])
