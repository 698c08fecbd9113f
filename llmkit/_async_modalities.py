"""The async twins of the calls beyond chat, for `llmkit.AsyncClient`.

Same planning, adapters and orchestration (`llmkit._gate.acall`) as `ModalitiesMixin`; only
the waiting differs. Embedding batches go out concurrently (a few at a time, each waiting for
the rate limiter) and come back in input order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal

import httpx

from ._errors import ConfigError
from ._gate import AsyncCall, acall
from ._modal_types import (
    AsyncSpeechStream,
    EmbeddingResponse,
    ImageResponse,
    RerankResponse,
    SpeechResponse,
    TokenCount,
    Transcription,
)
from ._modalities import embed_usage, priced, rerank_cost, rerank_tokens
from ._pipeline import Pricing
from ._types import ImagePart, Usage
from ._usage import estimate_text_tokens
from .modalities._base import (
    AudioInput,
    EmbedOptions,
    ImageOptions,
    ModalRequest,
    RerankOptions,
    TranscribeOptions,
    audio_bytes,
)
from .modalities._http import content_type, decode_json
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
    from ._client import AsyncClient
    from ._spec import ProviderSpec
    from ._transport import AsyncProviderTransport
    from .dialects._base import CallContext, WireRequest
    from .modalities._plan import Resolved

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
        tokens = estimate_text_tokens(x for b in batches for x in b)
        cost, pricing = priced(r, tokens)
        gate = asyncio.Semaphore(EMBED_CONCURRENCY)
        async with self._call(r, "embed", requests[0].wire, -(-tokens // len(batches)), cost, pricing) as c:

            async def one(batch: list[EmbedItem], m: ModalRequest) -> EmbeddingResponse:
                async with gate:
                    resp = await c.send(m, timeout=timeout)
                return r.adapter.parse_embed_http(resp, r.ctx, len(batch))

            parts = await asyncio.gather(*(one(b, m) for b, m in zip(batches, requests, strict=True)))
            out = join_embeddings(parts, r.ctx)
            await c.done(out, embed_usage(out), out.cost_usd, out.usage.input_tokens)
        return out

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
        tokens = rerank_tokens(query, docs)
        async with self._call(r, "rerank", m.wire, tokens, *priced(r, tokens)) as c:
            data = decode_json(await c.send(m, timeout=timeout), r.provider)
            out = rerank_cost(r, sorted_rerank(r.adapter.parse_rerank(data, r.ctx, docs), docs, return_documents))
            await c.done(out, Usage(input_tokens=out.input_tokens or 0), out.cost_usd, out.input_tokens)
        return out

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
        async with self._call(r, "transcribe", m.wire) as c:
            out = r.adapter.parse_transcription_http(await c.send(m, timeout=timeout), r.ctx)
            await c.done(out, Usage())
        return out

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
        async with self._call(r, "speak", m.wire) as c:
            resp = await c.send(m, timeout=timeout)
            out = SpeechResponse(
                audio=resp.content,
                content_type=content_type(resp),
                model=r.ctx.model,
                provider=r.provider,
                request_id=resp.headers.get("request-id") or resp.headers.get("x-request-id"),
            )
            await c.done(out, Usage())
        return out

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
        opener = self._speech_opener(r, m, timeout)
        return await AsyncSpeechStream(opener, content_type, r.ctx.model, r.provider)._open()

    @asynccontextmanager
    async def _speech_opener(
        self, r: Resolved, m: ModalRequest, timeout: float | None
    ) -> AsyncIterator[httpx.Response]:
        async with self._call(r, "speak", m.wire, stream=True) as c, c.stream(m, timeout=timeout) as resp:
            yield resp
            await c.done(None, Usage())

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
        async with self._call(r, "generate_image", m.wire) as c:
            out = r.adapter.parse_image_response(await c.send(m, timeout=timeout), r.ctx)
            await c.done(out, Usage())
        return out

    async def count_tokens(self, model: str, messages: Any, **params: Any) -> TokenCount:
        """Async twin of Client.count_tokens."""
        plan = plan_count(self, model, messages, params)
        if plan.local is not None:
            return plan.local
        first = plan.wires[0]
        async with acall(
            self._client_self(),
            plan.provider,
            plan.spec,
            "count_tokens",
            plan.ctx.model,
            operation=first.operation,
            body=first.body,
            pricing="free",
        ) as c:
            out = plan.result([decode_json(await c.send(w), plan.provider) for w in plan.wires])
            await c.done(out)
        return out

    # -- the call's way through the orchestration ---------------------------------------------
    def _client_self(self) -> AsyncClient:
        return self  # type: ignore[return-value]  # mixed into AsyncClient only

    def _call(
        self,
        r: Resolved,
        kind: str,
        wire: WireRequest,
        tokens: int = 0,
        cost: float | None = None,
        pricing: Pricing = "unknown",
        *,
        stream: bool = False,
    ) -> AbstractAsyncContextManager[AsyncCall]:
        """One model call (its latency counts for the model) through the client's orchestration."""
        return acall(
            self._client_self(),
            r.provider,
            r.spec,
            kind,
            r.ctx.model,
            operation=wire.operation,
            body=wire.body,
            stream=stream,
            tokens=tokens,
            cost=cost,
            pricing=pricing,
            timed=True,
        )
