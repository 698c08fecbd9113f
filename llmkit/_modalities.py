"""The calls beyond chat on `llmkit.Client`: embed, rerank, transcribe, speak, generate_image
and count_tokens.

`ModalitiesMixin` relies on the client core's `_spec` and `_context` helpers and sends every
request through `llmkit._gate.call`, the client's orchestration (budget, rate limits, hooks,
retries, spans, usage and latency), as chat does; the family adapters in `llmkit.modalities` do
the wire mapping. Every call checks the model's capability before any request, so an
unsupported call costs nothing.

What a call books into `client.usage`: embed and rerank their input tokens and, on a priced
model, their cost; transcribe, speak and generate_image one request each with no tokens (their
price is not per token, so they count as `unpriced_requests`); count_tokens nothing (it is
free). The budget reserves the estimated cost of a priced embed or rerank, and refuses a call
of unknown price once the budget is used up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Literal

import httpx

from ._errors import ConfigError
from ._gate import Call, call
from ._modal_types import (
    EmbeddingResponse,
    ImageResponse,
    RerankResponse,
    SpeechResponse,
    SpeechStream,
    TokenCount,
    Transcription,
)
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
    from ._client import Client
    from ._spec import ProviderSpec
    from ._transport import ProviderTransport
    from .dialects._base import CallContext, WireRequest
    from .modalities._plan import Resolved

__all__ = ["ModalitiesMixin", "embed_usage", "input_price", "priced", "rerank_cost", "rerank_tokens"]


def input_price(r: Resolved) -> float | None:
    """USD per million input tokens of the model, when the catalog knows it."""
    return r.ctx.model_info.price.input if r.ctx.model_info is not None else None


def priced(r: Resolved, tokens: int) -> tuple[float | None, Pricing]:
    """The estimated cost of `tokens` input tokens and how the budget meets the call."""
    price = input_price(r)
    if price is None:
        return None, "unknown"
    return tokens * price / 1_000_000, "estimated"


def rerank_tokens(query: str, docs: Sequence[str]) -> int:
    """Rerank input is billed as the query with each document (Voyage, Jina)."""
    return estimate_text_tokens(docs) + estimate_text_tokens([query]) * len(docs)


def rerank_cost(r: Resolved, resp: RerankResponse) -> RerankResponse:
    """Fill `cost_usd` from the tokens the provider reported and the catalog's price."""
    price = input_price(r)
    if price is not None and resp.input_tokens is not None:
        resp.cost_usd = round(resp.input_tokens * price / 1_000_000, 10)
    return resp


def embed_usage(out: EmbeddingResponse) -> Usage:
    return Usage(input_tokens=out.usage.input_tokens or 0)


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
        tokens = estimate_text_tokens(x for b in batches for x in b)
        cost, pricing = priced(r, tokens)
        per_request = -(-tokens // len(batches))
        with self._call(r, "embed", requests[0].wire, per_request, cost, pricing) as c:
            parts = [
                r.adapter.parse_embed_http(c.send(m, timeout=timeout), r.ctx, len(b))
                for b, m in zip(batches, requests, strict=True)
            ]
            out = join_embeddings(parts, r.ctx)
            c.done(out, embed_usage(out), out.cost_usd, out.usage.input_tokens)
        return out

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
        tokens = rerank_tokens(query, docs)
        with self._call(r, "rerank", m.wire, tokens, *priced(r, tokens)) as c:
            data = decode_json(c.send(m, timeout=timeout), r.provider)
            out = rerank_cost(r, sorted_rerank(r.adapter.parse_rerank(data, r.ctx, docs), docs, return_documents))
            c.done(out, Usage(input_tokens=out.input_tokens or 0), out.cost_usd, out.input_tokens)
        return out

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
        with self._call(r, "transcribe", m.wire) as c:
            out = r.adapter.parse_transcription_http(c.send(m, timeout=timeout), r.ctx)
            c.done(out, Usage())
        return out

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
        with self._call(r, "speak", m.wire) as c:
            resp = c.send(m, timeout=timeout)
            out = SpeechResponse(
                audio=resp.content,
                content_type=content_type(resp),
                model=r.ctx.model,
                provider=r.provider,
                request_id=resp.headers.get("request-id") or resp.headers.get("x-request-id"),
            )
            c.done(out, Usage())
        return out

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
        return SpeechStream(self._speech_opener(r, m, timeout), content_type, r.ctx.model, r.provider)

    @contextmanager
    def _speech_opener(self, r: Resolved, m: ModalRequest, timeout: float | None) -> Iterator[httpx.Response]:
        """The stream's connection inside one call: booked (one request) when it closes."""
        with self._call(r, "speak", m.wire, stream=True) as c, c.stream(m, timeout=timeout) as resp:
            yield resp
            c.done(None, Usage())

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
        with self._call(r, "generate_image", m.wire) as c:
            out = r.adapter.parse_image_response(c.send(m, timeout=timeout), r.ctx)
            c.done(out, Usage())
        return out

    def count_tokens(self, model: str, messages: Any, **params: Any) -> TokenCount:
        """Input tokens of these messages: the provider's own count where it has an endpoint
        (exact; Cohere's raw-text tokenizer gives an estimate), else a local count for
        OpenAI-family models (`exact` says which)."""
        plan = plan_count(self, model, messages, params)
        if plan.local is not None:
            return plan.local
        first = plan.wires[0]
        with call(
            self._client_self(),
            plan.provider,
            plan.spec,
            "count_tokens",
            plan.ctx.model,
            operation=first.operation,
            body=first.body,
            pricing="free",
        ) as c:
            out = plan.result([decode_json(c.send(w), plan.provider) for w in plan.wires])
            c.done(out)
        return out

    # -- the call's way through the orchestration ---------------------------------------------
    def _client_self(self) -> Client:
        return self  # type: ignore[return-value]  # mixed into Client only

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
    ) -> AbstractContextManager[Call]:
        """One model call (its latency counts for the model) through the client's orchestration."""
        return call(
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
