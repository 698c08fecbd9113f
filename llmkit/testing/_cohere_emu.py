"""Emulated Cohere API under `/cohere` (`/v2/chat`, `/v2/embed`, `/v1/models`), in Cohere's shapes.

Rejects a missing key (401 `{"message": "no api key supplied"}`), a wrong one when the
emulator requires a key (401 "invalid api token"), fields the v2 chat request does not
document, roles other than system/user/assistant/tool, lower-case `tool_choice`, a tool turn
that answers no earlier call, and unknown models (404). Answers with the v2 response (content
as a LIST of typed items, UPPER-CASE finish reasons, billed units and tokens) and its SSE
events, each with `event: <type>` and the same `type` in the data: message-start,
content-start/delta/end (content an OBJECT), tool-plan-delta, tool-call-start/delta/end,
citation-start/end when documents were given, and message-end with usage. No `[DONE]`.
`/v2/embed` requires `input_type` (it changes the vectors, so tests can tell it was sent),
takes at most 96 texts, allows `output_dimension` on embed-v4.0 only and answers vectors keyed
by type with billed input tokens. `/v1/tokenize` and `/v1/detokenize` require `model` (any
Cohere model: each has a tokenizer) and refuse unknown fields; tokenize takes 1 to 65536
characters of text. Its emulated tokenizer is invertible (see `emu_tokens`), so detokenize
gives back the text, and an id it never made is refused.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any
from urllib.parse import unquote

from .._spec import ModelInfo
from .._wire import WireValidationError, structure_strict
from ..generated.wire import cohere_v2 as wire
from ._brain import Conversation, Plan, chunks, plan
from ._media_emu import catalog_models, input_tokens, vector, vector_base64
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "CohereHandler"]

_IDS = itertools.count(1)
_TEMPLATE_TOKENS = 65  # Cohere's tokens include its prompt template; billed units do not


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _models() -> dict[str, ModelInfo]:
    from ..generated.catalog import MODELS

    out: dict[str, ModelInfo] = {}
    for m in MODELS:
        if m.provider == "cohere":
            for name in (m.id, *m.aliases):
                out[name] = m
    return out


def _model_json(name: str, info: ModelInfo) -> dict[str, Any]:
    features = ["tools", "json_mode"] if info.capabilities.tools else ["json_mode"]
    if info.capabilities.vision:
        features.append("vision")
    return {
        "name": name,
        "is_deprecated": False,
        "endpoints": ["chat"],
        "finetuned": False,
        "context_length": float(info.context_window or 128000),
        "tokenizer_url": f"https://storage.googleapis.com/cohere-public/tokenizers/{name}.json",
        "default_endpoints": [],
        "features": features,
    }


class CohereHandler:
    provider = "cohere"
    prefix = "/cohere"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        """Cohere's error body: `{"id": ..., "message": ...}`."""
        return EmuResponse.json({"id": f"err-{next(_IDS)}", "message": message}, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return self.error(401, "no api key supplied")
        if emu.require_key is not None and auth[7:] != emu.require_key:
            return self.error(401, "invalid api token")
        try:
            if (req.method, req.subpath) == ("POST", "/v2/chat"):
                return self._chat(req)
            if (req.method, req.subpath) == ("POST", "/v2/embed"):
                return _embed(req)
            if (req.method, req.subpath) == ("POST", "/v2/rerank"):
                return _rerank(req)
            if (req.method, req.subpath) == ("POST", "/v1/tokenize"):
                return _tokenize(req)
            if (req.method, req.subpath) == ("POST", "/v1/detokenize"):
                return _detokenize(req)
            if req.method == "GET" and req.subpath == "/v1/models":
                return EmuResponse.json(
                    {"models": [_model_json(k, v) for k, v in sorted(_models().items())], "next_page_token": None}
                )
            if req.method == "GET" and req.subpath.startswith("/v1/models/"):
                name = unquote(req.subpath[len("/v1/models/") :])
                info = _models().get(name)
                if info is None:
                    raise _Reject(404, f"model '{name}' not found")
                return EmuResponse.json(_model_json(name, info))
        except _Reject as r:
            return self.error(r.status, r.message)
        return self.error(404, f"route {req.method} {req.subpath} not found")

    def _chat(self, req: EmuRequest) -> EmuResponse:
        try:
            data = req.json()
        except ValueError:
            raise _Reject(400, "invalid request: body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _Reject(400, "invalid request: body must be an object")
        try:
            body: wire.ChatRequest = structure_strict(data, wire.ChatRequest)
        except WireValidationError as exc:
            m = re.search(r"unknown field '([^']+)'", exc.reason)
            if m:
                raise _Reject(400, f"invalid request: unknown field '{m.group(1)}'") from None
            raise _Reject(400, f"invalid request: {exc.reason}") from None
        if _models().get(body.model) is None:
            raise _Reject(
                404,
                f"model '{body.model}' not found, make sure the correct model ID was used and that you have "
                "access to the model.",
            )
        conv = _conversation(body)
        p = plan(conv)
        docs = list(body.documents or [])
        cites = _citations(p, docs) if docs and not p.tool_calls else []
        rid = f"c14c80c3-18eb-4519-9460-{next(_IDS):012d}"
        finish = "TOOL_CALL" if p.tool_calls else ("MAX_TOKENS" if p.truncated else "COMPLETE")
        usage = {
            "billed_units": {"input_tokens": p.input_tokens, "output_tokens": p.output_tokens},
            "tokens": {"input_tokens": p.input_tokens + _TEMPLATE_TOKENS, "output_tokens": p.output_tokens},
            "cached_tokens": 0,
        }
        if body.stream:
            return EmuResponse.sse(_events(rid, p, cites, finish, usage))
        message: dict[str, Any] = {"role": "assistant"}
        content: list[dict[str, Any]] = []
        if p.reasoning:
            content.append({"type": "thinking", "thinking": p.reasoning})
        if p.tool_calls:
            message["tool_plan"] = _plan_text(p)
            message["tool_calls"] = _calls(p)
        else:
            content.append({"type": "text", "text": p.text})
        message["content"] = content
        if cites:
            message["citations"] = cites
        return EmuResponse.json({"id": rid, "finish_reason": finish, "message": message, "usage": usage})


def _plan_text(p: Plan) -> str:
    return f"I will call {', '.join(name for name, _ in p.tool_calls)}."


def _calls(p: Plan) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{name}_{i}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
        }
        for i, (name, args) in enumerate(p.tool_calls)
    ]


def _citations(p: Plan, docs: list[Any]) -> list[dict[str, Any]]:
    """One citation over the first word of the answer, citing every given document."""
    first = p.text.split(" ", 1)[0]
    sources = []
    for i, d in enumerate(docs):
        doc = d.data if isinstance(d, wire.Document) else {"snippet": d}
        sources.append(
            {
                "type": "document",
                "id": (d.id if isinstance(d, wire.Document) else None) or f"doc:{i}",
                "document": doc if isinstance(doc, dict) else {"snippet": doc},
            }
        )
    return [{"start": 0, "end": len(first), "text": first, "type": "TEXT_CONTENT", "sources": sources}]


def _sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, ensure_ascii=False)}\n\n"


def _events(rid: str, p: Plan, cites: list[dict[str, Any]], finish: str, usage: dict[str, Any]) -> list[str]:
    empty = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    out = [_sse("message-start", {"id": rid, "delta": {"message": empty}})]
    index = 0
    if p.reasoning:
        out.append(
            _sse("content-start", {"index": 0, "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}})
        )
        for piece in chunks(p.reasoning):
            out.append(_sse("content-delta", {"index": 0, "delta": {"message": {"content": {"thinking": piece}}}}))
        out.append(_sse("content-end", {"index": 0}))
        index = 1
    if p.tool_calls:
        for piece in chunks(_plan_text(p)):
            out.append(_sse("tool-plan-delta", {"delta": {"message": {"tool_plan": piece}}}))
        for i, call in enumerate(_calls(p)):
            args = call["function"]["arguments"]
            start = {**call, "function": {"name": call["function"]["name"], "arguments": ""}}
            out.append(_sse("tool-call-start", {"index": i, "delta": {"message": {"tool_calls": start}}}))
            for j in range(0, len(args), 8):
                frag = {"function": {"arguments": args[j : j + 8]}}
                out.append(_sse("tool-call-delta", {"index": i, "delta": {"message": {"tool_calls": frag}}}))
            out.append(_sse("tool-call-end", {"index": i}))
    else:
        out.append(
            _sse("content-start", {"index": index, "delta": {"message": {"content": {"type": "text", "text": ""}}}})
        )
        for piece in chunks(p.text):
            out.append(_sse("content-delta", {"index": index, "delta": {"message": {"content": {"text": piece}}}}))
        for i, c in enumerate(cites):
            out.append(_sse("citation-start", {"index": i, "delta": {"message": {"citations": c}}}))
            out.append(_sse("citation-end", {"index": i}))
        out.append(_sse("content-end", {"index": index}))
    out.append(_sse("message-end", {"delta": {"finish_reason": finish, "usage": usage}}))
    return out


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(getattr(c, "text", "") or "" for c in content or [])


def _conversation(body: wire.ChatRequest) -> Conversation:
    conv = Conversation()
    called: set[str] = set()
    texts = []
    for m in body.messages:
        if isinstance(m, wire.AssistantMessage):
            called.update(c.id or "" for c in m.tool_calls or [])
        elif isinstance(m, wire.ToolMessage) and m.tool_call_id not in called:
            raise _Reject(400, f"invalid request: tool message answers unknown tool call id '{m.tool_call_id}'")
        if isinstance(m, wire.UserMessage):
            conv.last_user_text = _text_of(m.content)
            if not isinstance(m.content, str):
                conv.images += sum(isinstance(c, wire.ImageUrlContent) for c in m.content)
        texts.append(_text_of(getattr(m, "content", "")))
    conv.all_text = "\n".join(texts)
    last = body.messages[-1] if body.messages else None
    if isinstance(last, wire.ToolMessage):
        conv.last_is_tool_result = True
        conv.tool_result_text = _text_of(last.content)
    conv.tools = [{"name": t.function.name, "parameters": t.function.parameters or {}} for t in body.tools or []]
    if body.tool_choice == "NONE":
        conv.tool_choice = "none"
    elif body.tool_choice == "REQUIRED":
        conv.tool_choice = "required"
    rf = body.response_format
    if rf is not None and rf.type == "json_object":
        if rf.json_schema is not None:
            conv.json_schema = rf.json_schema
        else:
            conv.json_object = True
    conv.max_tokens = body.max_tokens
    conv.reasoning = body.thinking is not None and body.thinking.type == "enabled"
    return conv


HANDLER = CohereHandler()


EMBED_MAX_TEXTS = 96
_EMBED_DIMS = {"embed-v4.0": 1536, "embed-english-light-v3.0": 384}


def embedding_vector(text: str, input_type: str, dims: int) -> list[float]:
    """What the emulated /v2/embed returns for one text: the input type is part of it."""
    return vector(f"{input_type}:{text}", dims)


def typed_embeddings(floats: list[list[float]], kinds: list[str]) -> dict[str, Any]:
    """The `embeddings` object for the asked types: quantized to int8/uint8, bit-packed (one
    bit per dimension, positive -> 1, first dimension in the high bit; binary is the packed
    byte minus 128), or little-endian float32 in base64, as Cohere's embed v3+ answers."""
    out: dict[str, Any] = {}
    for kind in kinds:
        if kind == "float":
            out[kind] = floats
        elif kind == "int8":
            out[kind] = [[max(-128, min(127, round(x * 127))) for x in v] for v in floats]
        elif kind == "uint8":
            out[kind] = [[max(0, min(255, round((x + 1) * 127.5))) for x in v] for v in floats]
        elif kind in ("binary", "ubinary"):
            packed = [_pack_bits(v) for v in floats]
            out[kind] = [[b - 128 for b in p] for p in packed] if kind == "binary" else packed
        else:  # base64 (the schema's enum allows nothing else)
            out[kind] = [vector_base64(v) for v in floats]
    return out


def _pack_bits(v: list[float]) -> list[int]:
    return [sum(1 << (7 - j) for j, x in enumerate(v[i : i + 8]) if x > 0) for i in range(0, len(v), 8)]


def _rerank(req: EmuRequest) -> EmuResponse:
    """Scores by word overlap with the query (deterministic), best first, like Cohere's order."""
    try:
        body = structure_strict(req.json(), wire.RerankRequest)
    except ValueError as exc:
        reason = exc.reason if isinstance(exc, WireValidationError) else "body is not valid JSON"
        raise _Reject(400, f"invalid request: {reason}") from None
    if body.model not in catalog_models("cohere", "rerank"):
        raise _Reject(404, f"model '{body.model}' not found or does not support rerank")
    if not body.documents:
        raise _Reject(400, "invalid request: documents must not be empty")
    words = set(body.query.lower().split())
    scored = [
        (round(len(words & set(d.lower().split())) / (len(words) or 1), 4), i) for i, d in enumerate(body.documents)
    ]
    scored.sort(key=lambda s: (-s[0], s[1]))
    top = scored[: body.top_n] if body.top_n is not None else scored
    return EmuResponse.json(
        {
            "id": f"rr-{next(_IDS)}",
            "results": [{"index": i, "relevance_score": score} for score, i in top],
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
        }
    )


def _embed(req: EmuRequest) -> EmuResponse:
    try:
        body = structure_strict(req.json(), wire.EmbedRequest)
    except ValueError as exc:  # not JSON, or (WireValidationError) not the documented body
        reason = exc.reason if isinstance(exc, WireValidationError) else "body is not valid JSON"
        raise _Reject(400, f"invalid request: {reason}") from None
    if body.model not in catalog_models("cohere", "embeddings"):
        raise _Reject(404, f"model '{body.model}' not found or does not support embed")
    texts = list(body.texts or [])
    if not texts or len(texts) > EMBED_MAX_TEXTS:
        raise _Reject(400, f"invalid request: texts must contain between 1 and {EMBED_MAX_TEXTS} items")
    kinds = list(body.embedding_types or ["float"])
    if not kinds:
        raise _Reject(400, "invalid request: embedding_types must not be empty")
    dims = _EMBED_DIMS.get(body.model, 1024)
    if body.output_dimension is not None:
        if body.model != "embed-v4.0" or body.output_dimension not in (256, 512, 1024, 1536):
            raise _Reject(400, f"invalid request: output_dimension {body.output_dimension} is not supported")
        dims = body.output_dimension
    return EmuResponse.json(
        {
            "id": f"emb-{next(_IDS)}",
            "response_type": "embeddings_by_type",
            "embeddings": typed_embeddings([embedding_vector(t, body.input_type, dims) for t in texts], kinds),
            "texts": texts,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": input_tokens(texts)}},
        }
    )


TOKENIZE_MAX_CHARS = 65536
_PRE_TOKEN = re.compile(r" ?\w+| ?[^\w\s]+|\s+")
_TOKEN_MARK = b"\x01"


def emu_tokens(text: str) -> list[tuple[int, str]]:
    """The emulator's tokenizer: words (with their leading space), punctuation runs and
    whitespace runs, cut into pieces of at most 4 UTF-8 bytes (never inside a character); a
    token's id is its bytes behind a marker byte, read as a big-endian integer, so it inverts."""
    out: list[tuple[int, str]] = []
    for pre in _PRE_TOKEN.findall(text):
        piece = ""
        for ch in pre:
            if len((piece + ch).encode()) > 4:
                out.append((int.from_bytes(_TOKEN_MARK + piece.encode(), "big"), piece))
                piece = ""
            piece += ch
        out.append((int.from_bytes(_TOKEN_MARK + piece.encode(), "big"), piece))
    return out


def _token_text(token: int) -> str | None:
    if token <= 0:
        return None
    raw = token.to_bytes((token.bit_length() + 7) // 8, "big")
    if not raw.startswith(_TOKEN_MARK) or not 2 <= len(raw) <= 5:
        return None
    try:
        return raw[1:].decode()
    except UnicodeDecodeError:
        return None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# JSON types of the tokenizer bodies' fields (the converter would turn 5 into "5").
_FIELD_TYPES: dict[str, tuple[str, Any]] = {
    "text": ("a string", lambda v: isinstance(v, str)),
    "model": ("a string", lambda v: isinstance(v, str)),
    "tokens": ("a list of integers", lambda v: isinstance(v, list) and all(_is_int(t) for t in v)),
}


def _strict(req: EmuRequest, cls: type[Any]) -> Any:
    try:
        data = req.json()
    except ValueError:
        raise _Reject(400, "invalid request: body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _Reject(400, "invalid request: body must be an object")
    for name, value in data.items():
        kind, ok = _FIELD_TYPES.get(name, ("", None))
        if ok is not None and not ok(value):
            raise _Reject(400, f"invalid request: {name} must be {kind}")
    try:
        return structure_strict(data, cls)
    except WireValidationError as exc:
        m = re.search(r"unknown field '([^']+)'", exc.reason)
        reason = f"unknown field '{m.group(1)}'" if m else exc.reason
        raise _Reject(400, f"invalid request: {reason}") from None


def _tokenizer_model(model: str) -> None:
    if _models().get(model) is None:
        raise _Reject(404, f"model '{model}' not found, make sure the correct model ID was used")


def _tokenize(req: EmuRequest) -> EmuResponse:
    body: wire.TokenizeRequest = _strict(req, wire.TokenizeRequest)
    _tokenizer_model(body.model)
    if not 1 <= len(body.text) <= TOKENIZE_MAX_CHARS:
        raise _Reject(
            400, f"invalid request: text must be between 1 and {TOKENIZE_MAX_CHARS} characters, got {len(body.text)}"
        )
    tokens = emu_tokens(body.text)
    return EmuResponse.json(
        {
            "tokens": [t for t, _ in tokens],
            "token_strings": [s for _, s in tokens],
            "meta": {"api_version": {"version": "1"}},
        }
    )


def _detokenize(req: EmuRequest) -> EmuResponse:
    body: wire.DetokenizeRequest = _strict(req, wire.DetokenizeRequest)
    _tokenizer_model(body.model)
    pieces = []
    for token in body.tokens:
        text = _token_text(token)
        if text is None:
            raise _Reject(400, f"invalid request: token {token} is not in the tokenizer's vocabulary")
        pieces.append(text)
    return EmuResponse.json({"text": "".join(pieces), "meta": {"api_version": {"version": "1"}}})
