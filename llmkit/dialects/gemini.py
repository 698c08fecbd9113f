"""The Google Gemini API dialect (`POST {base}/models/{model}:generateContent`).

Gemini differs from the OpenAI family in ways a naive adapter gets wrong, so each is handled
here on purpose:

* the model goes in the URL path (percent-encoded) with a colon verb; streaming is a separate
  verb plus `?alt=sse`, and the stream has NO terminator: it simply closes, so a stream is
  complete only if a chunk carried a `finishReason`;
* roles are `user` and `model`; system text goes in `systemInstruction`; tool results are
  `functionResponse` parts of a user turn and tool arguments are JSON objects, not strings;
* a blocked prompt is HTTP 200 with no candidates (raised as ContentFilterError), and
  `thoughtsTokenCount` is not part of `candidatesTokenCount` (added to output tokens);
* `thoughtSignature`s must go back on the next turn (Gemini 3 with tools rejects a turn
  without them), so they are kept on ToolCall.provider_data and on ReasoningParts.

`reasoning_effort` maps to a thinking budget (low 1024, medium 8192, high 24576 tokens;
minimal/none 0) because `thinkingBudget` works on every thinking model; pass
`provider_options={"generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH"}}}` to use
Gemini 3's levels instead. Function schemas and response schemas are sent as
`parametersJsonSchema` / `responseJsonSchema` (full JSON Schema) rather than the OpenAPI-subset
`parameters` / `responseSchema`, which rejects common keys such as `additionalProperties`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .._errors import BadRequestError, ConfigError, ContentFilterError, StreamError
from .._events import (
    FinishEvent,
    ReasoningDelta,
    StreamAccumulator,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageEvent,
)
from .._http_errors import error_for_status, parse_duration
from .._sse import SSEEvent
from .._types import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    DocumentPart,
    FinishReason,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
    split_data_url,
)
from .._wire import structure
from ..generated.wire import gemini as wire
from ._base import CallContext, ErrorInfo, WireRequest, expand_path

__all__ = ["DIALECT", "EFFORT_BUDGETS", "GeminiDialect", "finish_reason"]

EFFORT_BUDGETS: dict[str, int] = {
    "none": 0, "minimal": 0, "low": 1024, "medium": 8192, "high": 24576,
}

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}

_MIME_BY_EXT = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf",
}

_MODES = {
    "auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY", "validated": "VALIDATED",
}
_SIGNATURE = "thoughtSignature"
_SYNTHETIC = "synthetic_id"


def finish_reason(raw: str | None, has_calls: bool = False) -> FinishReason:
    """Gemini's finishReason in unified terms; STOP with function calls means tool_calls."""
    if raw == "STOP" and has_calls:
        return "tool_calls"
    return _FINISH.get(raw or "", "other")


def _model_path(model: str) -> str:
    # Users may write the resource name (`models/gemini-2.5-flash`); the path adds `models/`.
    return model[len("models/"):] if model.startswith("models/") else model


def _guess_mime(url: str, default: str) -> str:
    tail = url.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    ext = tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
    return _MIME_BY_EXT.get(ext, default)


def _media(
    url: str | None, data: bytes | None, media_type: str | None, default: str
) -> dict[str, Any]:
    """bytes and data: URLs go inline (base64); other URLs by reference as fileData."""
    if data is not None:
        return {"inlineData": {"mimeType": media_type or default,
                               "data": base64.b64encode(data).decode("ascii")}}
    assert url is not None
    inline = split_data_url(url)
    if inline is not None:
        return {"inlineData": {"mimeType": inline[0], "data": inline[1]}}
    return {"fileData": {"mimeType": media_type or _guess_mime(url, default), "fileUri": url}}


def _user_parts(parts: list[ContentPart]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            out.append({"text": p.text})
        elif isinstance(p, ImagePart):
            out.append(_media(p.url, p.data, p.media_type, "image/jpeg"))
        elif isinstance(p, DocumentPart):
            if p.url is None and p.data is None:
                raise ConfigError("a document part needs `url` or `data`")
            out.append(_media(p.url, p.data, p.media_type, "application/pdf"))
    return out


def _model_parts(m: Message) -> list[dict[str, Any]]:
    """An assistant turn as `model` parts, thought signatures where Gemini put them."""
    out: list[dict[str, Any]] = []
    pending_sig: str | None = None
    for p in m.parts:
        if isinstance(p, ReasoningPart):
            if p.text:
                part: dict[str, Any] = {"text": p.text, "thought": True}
                if p.signature:
                    part[_SIGNATURE] = p.signature
                out.append(part)
            elif p.signature:
                if pending_sig is not None:
                    out.append({_SIGNATURE: pending_sig})
                pending_sig = p.signature  # rides on the next text part, where it came from
        elif isinstance(p, TextPart):
            part = {"text": p.text}
            if pending_sig is not None:
                part[_SIGNATURE] = pending_sig
                pending_sig = None
            out.append(part)
        else:
            out.extend(_user_parts([p]))
    if pending_sig is not None:
        out.append({_SIGNATURE: pending_sig})
    for c in m.tool_calls:
        call: dict[str, Any] = {"name": c.name, "args": c.arguments}
        data = c.provider_data or {}
        if c.id and not data.get(_SYNTHETIC):
            call["id"] = c.id
        part = {"functionCall": call}
        if data.get(_SIGNATURE):
            part[_SIGNATURE] = data[_SIGNATURE]
        out.append(part)
    return out


def _function_response(
    m: Message, names: dict[str, tuple[str, bool]], provider: str
) -> dict[str, Any]:
    known = names.get(m.tool_call_id or "")
    name = m.name or (known[0] if known else None)
    if not name:
        raise BadRequestError(
            f"{provider} needs the function name of tool result {m.tool_call_id!r}: keep the "
            "assistant turn with its tool_calls in the history, or set the tool message's `name`",
            provider=provider,
        )
    text = m.text
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = text
    if m.is_error:
        response: dict[str, Any] = {"error": value}
    elif isinstance(value, dict):
        response = value
    else:
        response = {"result": value}
    out: dict[str, Any] = {"name": name, "response": response}
    if m.tool_call_id and not (known and known[1]):
        out["id"] = m.tool_call_id
    return {"functionResponse": out}


def _contents(messages: list[Message], provider: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(contents, system texts). Consecutive tool results become one user turn."""
    contents: list[dict[str, Any]] = []
    system: list[str] = []
    names: dict[str, tuple[str, bool]] = {}  # tool call id -> (name, id was synthesized)
    for m in messages:
        if m.role in ("system", "developer"):
            system.append(m.text)
        elif m.role == "assistant":
            for c in m.tool_calls:
                names[c.id] = (c.name, bool((c.provider_data or {}).get(_SYNTHETIC)))
            parts = _model_parts(m)
            if parts:
                contents.append({"role": "model", "parts": parts})
        elif m.role == "tool":
            part = _function_response(m, names, provider)
            last = contents[-1] if contents else None
            if last and last["role"] == "user" and all("functionResponse" in p
                                                       for p in last["parts"]):
                last["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
        else:
            contents.append({"role": "user", "parts": _user_parts(m.parts) or [{"text": ""}]})
    return contents, system


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    decls = []
    for t in tools:
        d: dict[str, Any] = {"name": t["name"]}
        if t.get("description"):
            d["description"] = t["description"]
        if t.get("parameters"):
            d["parametersJsonSchema"] = t["parameters"]
        decls.append(d)
    return [{"functionDeclarations": decls}]


def _tool_config(choice: str | dict[str, Any]) -> dict[str, Any]:
    name: str | None = None
    if isinstance(choice, dict):
        kind = choice.get("type")
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else choice.get("name")
        choice = name or ("required" if kind in ("any", "tool") else str(kind or "auto"))
    mode = _MODES.get(choice.lower()) if name is None else None
    if mode:
        return {"functionCallingConfig": {"mode": mode}}
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice]}}


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    """Merge provider options into the body, nested objects key by key (generationConfig...)."""
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


def _generation_config(req: ChatRequest) -> dict[str, Any]:
    gc: dict[str, Any] = {}
    for key, value in (("maxOutputTokens", req.max_tokens), ("temperature", req.temperature),
                       ("topP", req.top_p), ("seed", req.seed)):
        if value is not None:
            gc[key] = value
    if req.stop:
        gc["stopSequences"] = list(req.stop)
    rf = req.response_format or {}
    if rf.get("type") == "json_object":
        gc["responseMimeType"] = "application/json"
    elif rf.get("type") == "json_schema":
        gc["responseMimeType"] = "application/json"
        gc["responseJsonSchema"] = rf["json_schema"]["schema"]
    budget = req.reasoning_budget
    if budget is None and req.reasoning_effort is not None:
        if req.reasoning_effort not in EFFORT_BUDGETS:
            raise ConfigError(
                f"reasoning_effort must be one of {sorted(EFFORT_BUDGETS)}, "
                f"got {req.reasoning_effort!r}"
            )
        budget = EFFORT_BUDGETS[req.reasoning_effort]
    if budget is not None:
        gc["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": True} if budget else {
            "thinkingBudget": 0}
    return gc


def _body(req: ChatRequest, provider: str, *, with_config: bool = True) -> dict[str, Any]:
    contents, system = _contents(req.messages, provider)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": s} for s in system]}
    if req.tools:
        body["tools"] = _tools(req.tools)
    if not with_config:
        return body
    if req.tool_choice is not None:
        body["toolConfig"] = _tool_config(req.tool_choice)
    gc = _generation_config(req)
    if gc:
        body["generationConfig"] = gc
    for extra in (req.provider_options, req.extra_body):
        if extra:
            _merge(body, extra)
    return body


class _Parsed:
    """The parts of one candidate (or one stream chunk) in unified form."""

    def __init__(self, parts: list[wire.Part] | None, first_call: int) -> None:
        self.items: list[ContentPart] = []
        self.calls: list[ToolCall] = []
        for p in parts or []:
            sig = p.thought_signature
            if p.function_call is not None:
                fc = p.function_call
                data: dict[str, Any] = {}
                if sig:
                    data[_SIGNATURE] = sig
                if not fc.id:
                    data[_SYNTHETIC] = True
                args = fc.args or {}
                self.calls.append(ToolCall(
                    id=fc.id or f"call_{first_call + len(self.calls)}", name=fc.name,
                    arguments=args,
                    raw_arguments=json.dumps(args, ensure_ascii=False), provider_data=data or None,
                ))
            elif p.thought:
                self.items.append(ReasoningPart(text=p.text or "", signature=sig))
            elif p.text is not None:
                if sig:
                    self.items.append(ReasoningPart(signature=sig))
                self.items.append(TextPart(text=p.text))
            elif p.inline_data is not None:
                blob = p.inline_data
                self.items.append(
                    ImagePart(data=base64.b64decode(blob.data), media_type=blob.mime_type)
                )
            elif sig:
                self.items.append(ReasoningPart(signature=sig))


def _usage(u: wire.UsageMetadata | None) -> Usage:
    if u is None:
        return Usage()
    thoughts = u.thoughts_token_count or 0
    return Usage(
        input_tokens=(u.prompt_token_count or 0) + (u.tool_use_prompt_token_count or 0),
        output_tokens=(u.candidates_token_count or 0) + thoughts,
        cached_input_tokens=u.cached_content_token_count or 0,
        reasoning_tokens=thoughts,
    )


def _blocked(
    resp: wire.GenerateContentResponse, data: Any, provider: str
) -> ContentFilterError | None:
    fb = resp.prompt_feedback
    if resp.candidates or fb is None or fb.block_reason is None:
        return None
    reason = str(fb.block_reason)
    return ContentFilterError(f"{provider} blocked the prompt (blockReason {reason})",
                              provider=provider, body=data, code=reason)


def _candidate(resp: wire.GenerateContentResponse) -> wire.Candidate | None:
    cands = resp.candidates or []
    return next((c for c in cands if (c.index or 0) == 0), None)


def _model_name(resp: wire.GenerateContentResponse, default: str) -> str:
    return _model_path(resp.model_version) if resp.model_version else default


def _raise_if_error(payload: Any, provider: str) -> None:
    """A google.rpc.Status body (inside a 200 stream) as the typed error it stands for."""
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = payload[0]
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return
    info = DIALECT.error_info(0, payload)
    code = payload["error"].get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else None
    raise error_for_status(status, info, provider=provider, body=payload, request_id=None)


class GeminiDialect:
    """Adapter for the Gemini API (generativelanguage.googleapis.com)."""

    name = "gemini"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        op = ctx.spec.operations["stream_generate_content" if req.stream else "generate_content"]
        return WireRequest(
            method=op.method,
            path=expand_path(op.path, model=_model_path(req.model)),
            body=_body(req, ctx.provider),
            query=dict(op.query),
            stream=req.stream,
        )

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        resp = structure(data, wire.GenerateContentResponse)
        blocked = _blocked(resp, data, ctx.provider)
        if blocked is not None:
            raise blocked
        cand = _candidate(resp)
        if cand is None:
            raise BadRequestError(
                f"{ctx.provider} returned no candidates", provider=ctx.provider, body=data
            )
        parsed = _Parsed(cand.content.parts if cand.content else None, 0)
        content: str | list[ContentPart]
        if all(isinstance(p, TextPart) for p in parsed.items):
            content = "".join(p.text for p in parsed.items if isinstance(p, TextPart))
        else:
            content = parsed.items
        raw = cand.finish_reason
        return ChatResponse(
            id=resp.response_id,
            provider=ctx.provider,
            model=_model_name(resp, ctx.model),
            message=Message(role="assistant", content=content, tool_calls=parsed.calls),
            finish_reason=finish_reason(raw, bool(parsed.calls)),
            raw_finish_reason=raw,
            usage=_usage(resp.usage_metadata),
            raw=data,
        )

    def stream_decoder(self, ctx: CallContext) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        if isinstance(data, list) and data and isinstance(data[0], dict):
            data = data[0]  # the non-SSE stream endpoint wraps bodies in a JSON array
        err = data.get("error") if isinstance(data, dict) else None
        if not isinstance(err, dict):
            return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])
        status_name = err.get("status")
        reason: str | None = None
        retry: float | None = None
        for d in err.get("details") or []:
            if not isinstance(d, dict):
                continue
            kind = str(d.get("@type", ""))
            if kind.endswith("google.rpc.RetryInfo") and isinstance(d.get("retryDelay"), str):
                retry = parse_duration(d["retryDelay"])
            elif kind.endswith("google.rpc.ErrorInfo") and d.get("reason"):
                reason = str(d["reason"])
        return ErrorInfo(
            message=str(err.get("message") or status_name or data),
            code=None if status_name is None else str(status_name),
            type=reason or (None if status_name is None else str(status_name)),
            retry_after=retry,
        )

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        model = _model_path(req.model)
        inner = _body(req, ctx.provider, with_config=False)
        if len(inner) == 1:
            body: dict[str, Any] = inner  # only contents
        else:  # a system instruction or tools are counted only inside a generateContentRequest
            body = {"generateContentRequest": {"model": f"models/{model}", **inner}}
        op = ctx.spec.operations["count_tokens"]
        return WireRequest(method=op.method, path=expand_path(op.path, model=model), body=body,
                           query=dict(op.query))

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        return structure(data, wire.CountTokensResponse).total_tokens or 0


class GeminiStreamDecoder:
    """`?alt=sse` chunks -> unified events. Each chunk is a whole GenerateContentResponse
    with delta parts and running usage; there is no terminator, so `end()` checks that a
    finishReason arrived and otherwise raises StreamError (the answer may be cut short)."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.acc = StreamAccumulator(ctx.provider, ctx.model)
        self.finish_raw: str | None = None
        self.saw_finish = False
        self.raw_text: list[str] = []

    def _emit(self, out: list[StreamEvent], ev: StreamEvent) -> None:
        self.acc.add(ev)
        out.append(ev)

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if event.event == "raw":
            # Gemini writes an error into the stream as a bare (maybe multi-line) JSON body.
            self.raw_text.append(event.data)
            try:
                payload = json.loads("\n".join(self.raw_text))
            except ValueError:
                return out
            _raise_if_error(payload, self.ctx.provider)
            return out
        try:
            payload = json.loads(event.data)
        except ValueError:
            raise StreamError(f"{self.ctx.provider} sent a stream event that is not JSON: "
                              f"{event.data[:200]!r}", provider=self.ctx.provider)
        _raise_if_error(payload, self.ctx.provider)
        chunk = structure(payload, wire.GenerateContentResponse)
        blocked = _blocked(chunk, payload, self.ctx.provider)
        if blocked is not None:
            raise blocked
        if self.acc.id is None:
            self.acc.id = chunk.response_id
        self.acc.model = _model_name(chunk, self.acc.model)
        cand = _candidate(chunk)
        if cand is not None:
            self._parts(cand, out)
        if chunk.usage_metadata is not None:
            self._emit(out, UsageEvent(usage=_usage(chunk.usage_metadata)))
        return out

    def _parts(self, cand: wire.Candidate, out: list[StreamEvent]) -> None:
        parsed = _Parsed(cand.content.parts if cand.content else None, len(self.acc.calls))
        for item in parsed.items:
            if isinstance(item, ReasoningPart):
                self._emit(out, ReasoningDelta(text=item.text, signature=item.signature))
            elif isinstance(item, TextPart):
                self._emit(out, TextDelta(text=item.text))
        for call in parsed.calls:  # function calls arrive whole, arguments complete
            index = len(self.acc.calls)
            self._emit(out, ToolCallStart(index=index, id=call.id, name=call.name))
            self._emit(out, ToolCallDelta(index=index, arguments=call.raw_arguments or "{}"))
            self._emit(out, self.acc.close_tool_call(index, call.provider_data))
        if cand.finish_reason is not None:
            self.finish_raw = cand.finish_reason
            self.saw_finish = True

    def end(self) -> list[StreamEvent]:
        if self.raw_text:
            try:
                _raise_if_error(json.loads("\n".join(self.raw_text)), self.ctx.provider)
            except ValueError:
                pass
        if not self.saw_finish:
            raise StreamError(
                f"{self.ctx.provider} stream closed without a finishReason: "
                "the answer may be cut short",
                provider=self.ctx.provider,
            )
        out: list[StreamEvent] = []
        for index in self.acc.open_calls():
            self._emit(out, self.acc.close_tool_call(index))
        raw = self.finish_raw
        self._emit(out, FinishEvent(finish_reason=finish_reason(raw, bool(self.acc.calls)),
                                    raw_finish_reason=raw))
        return out


DIALECT = GeminiDialect()
