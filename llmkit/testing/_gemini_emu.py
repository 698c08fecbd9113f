"""Emulated Gemini API under `/gemini/v1beta`, as strict as generativelanguage.googleapis.com.

Why strict: a client that passes here should pass against Gemini. So it rejects what Gemini
rejects, with Gemini's google.rpc.Status error shape: no key (403 PERMISSION_DENIED), a wrong
key (400 API_KEY_INVALID), unknown JSON fields (400 `Unknown name "x"`), roles other than
user/model, function-response turns that do not answer every call, a Gemini 3 function call
echoed back without its thoughtSignature, and unknown or shut-down models (404). It answers
with real shapes: `:streamGenerateContent?alt=sse` as CRLF-framed `data:` events with running
usage and the finishReason on the last chunk and no terminator; without `alt=sse` a JSON array
written piece by piece; `:countTokens`; the models listing; and explicit context caching
(`cachedContents`, and `cachedContent` in generateContent: `_gemini_cache_emu`).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import unquote

from .._wire import WireValidationError, structure, structure_strict
from ..generated.wire import gemini as wire
from ._brain import Conversation, Plan, chunks, count_tokens, plan
from ._gemini_cache_emu import handle_cached_contents, with_cache
from ._gemini_embed_emu import EMBED_VERBS, handle_embeddings
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "GeminiHandler"]

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_ROLES = frozenset({"user", "model"})
_NOTE = re.compile(r"@ (attribute|index) (\w+)")


def _models() -> dict[str, Any]:
    """Live Gemini models of the catalog; a retired one answers 404, as Gemini does."""
    from .._lifecycle import lifecycle_status
    from ..generated.catalog import MODELS

    out: dict[str, Any] = {}
    for m in MODELS:
        if m.provider == "gemini" and lifecycle_status(m.lifecycle) != "retired":
            out[m.id] = m
            for alias in m.aliases:
                out[alias] = m
    return out


def _model_json(mid: str, info: Any) -> dict[str, Any]:
    return {
        "name": f"models/{mid}",
        "version": "001",
        "displayName": mid,
        "description": f"Emulated {mid}",
        "inputTokenLimit": info.context_window,
        "outputTokenLimit": info.max_output_tokens,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
        "temperature": 1.0,
        "maxTemperature": 2.0,
        "topP": 0.95,
        "topK": 64,
        "thinking": bool(info.capabilities.reasoning),
    }


def _where(exc: WireValidationError) -> str:
    """`tools[0].code_execution` from cattrs' notes (python names are Gemini's proto names)."""
    path = ""
    for kind, name in reversed(_NOTE.findall(str(exc))):
        path += f"[{name}]" if kind == "index" else (f".{name}" if path else name)
    return path


class GeminiHandler:
    provider = "gemini"
    prefix = "/gemini/v1beta"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        """Gemini's google.rpc.Status body; `kind` is a status name or an ErrorInfo reason."""
        name = kind if kind in _STATUS.values() else _STATUS.get(status, "UNKNOWN")
        err: dict[str, Any] = {"code": status, "message": message, "status": name}
        if kind and kind not in _STATUS.values():
            err["details"] = [
                {
                    "@type": _ERROR_INFO,
                    "reason": kind,
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ]
        elif status == 429:
            err["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        }
                    ],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"},
            ]
        return EmuResponse.json({"error": err}, status)

    def _auth(self, req: EmuRequest, emu: Emulator) -> EmuResponse | None:
        key = req.headers.get("x-goog-api-key") or req.query.get("key")
        if not key:
            return self.error(
                403,
                "Method doesn't allow unregistered callers (callers without "
                "established identity). Please use API Key or other form of "
                "API consumer identity to call this API.",
            )
        if emu.require_key is not None and key != emu.require_key:
            return self.error(400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")
        return None

    def _list_models(self, req: EmuRequest) -> EmuResponse:
        """models.list: `pageSize` (default 50, max 1000) and `pageToken`; no token on the last page."""
        models = [_model_json(k, v) for k, v in sorted(_models().items())]
        try:
            size = min(int(req.query.get("pageSize", "50")), 1000)
            start = int(req.query["pageToken"].removeprefix("emu-page-")) if "pageToken" in req.query else 0
        except ValueError:
            return self.error(400, "Invalid pageSize or pageToken.", "INVALID_ARGUMENT")
        if size < 1:
            size = 50
        body: dict[str, Any] = {"models": models[start : start + size]}
        if start + size < len(models):
            body["nextPageToken"] = f"emu-page-{start + size}"
        return EmuResponse.json(body)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        denied = self._auth(req, emu)
        if denied is not None:
            return denied
        sub = req.subpath
        if sub.endswith(EMBED_VERBS):
            return handle_embeddings(req, emu, self)
        if sub == "/models" and req.method == "GET":
            return self._list_models(req)
        if sub == "/cachedContents" or sub.startswith("/cachedContents/"):
            return handle_cached_contents(req, emu, self, _models())
        if not sub.startswith("/models/"):
            return self.error(404, f"The requested URL {req.path} was not found on this server.")
        name, _, verb = sub[len("/models/") :].rpartition(":")
        if not name:
            name, verb = verb, ""
        mid = unquote(name)
        info = _models().get(mid)
        if info is None:
            return self.error(
                404,
                f"models/{mid} is not found for API version v1beta, or is not "
                "supported for generateContent. Call ListModels to see the list "
                "of available models and their supported methods.",
            )
        if not verb and req.method == "GET":
            return EmuResponse.json(_model_json(mid, info))
        if req.method != "POST" or verb not in ("generateContent", "streamGenerateContent", "countTokens"):
            return self.error(404, f"The requested URL {req.path} was not found on this server.")
        data, bad = self._body(req)
        if bad is not None:
            return bad
        if verb == "countTokens":
            return self._count(mid, data)
        body, bad = self._validate(data, wire.GenerateContentRequest, mid)
        if bad is not None:
            return bad
        assert body is not None
        cached = 0
        if body.cached_content is not None:
            found = with_cache(self, emu, data, mid)
            if isinstance(found, EmuResponse):
                return found
            body, cached = structure(found[0], wire.GenerateContentRequest), found[1]
        p = plan(_conversation(body))
        p.input_tokens = max(p.input_tokens, cached)
        thoughts = _thinking(body)
        if verb == "generateContent":
            return EmuResponse.json(_cached_usage(_response(mid, p, thoughts), cached))
        events = [_cached_usage(e, cached) for e in _stream_chunks(mid, p, thoughts)]
        if req.query.get("alt") == "sse":
            return EmuResponse.sse(f"data: {json.dumps(c, ensure_ascii=False)}\r\n\r\n" for c in events)
        pieces = [
            ("[" if i == 0 else "\n,\r\n") + json.dumps(c, indent=2, ensure_ascii=False) for i, c in enumerate(events)
        ]
        return EmuResponse(
            headers={"content-type": "application/json; charset=UTF-8"}, chunks=[p.encode() for p in [*pieces, "\n]"]]
        )

    def _body(self, req: EmuRequest) -> tuple[dict[str, Any], EmuResponse | None]:
        try:
            data = req.json()
        except ValueError:
            return {}, self.error(400, "Invalid JSON payload received. Unexpected token.")
        if not isinstance(data, dict):
            return {}, self.error(400, "Invalid JSON payload received. Expected an object.")
        return data, None

    def _validate(self, data: dict[str, Any], cls: type[Any], mid: str) -> tuple[Any, EmuResponse | None]:
        try:
            body = structure_strict(data, cls)
        except WireValidationError as exc:
            m = re.search(r"unknown field '([^']+)'", exc.reason)
            where = _where(exc)
            at = f" at '{where}'" if where else ""
            if m:
                return None, self.error(
                    400, f'Invalid JSON payload received. Unknown name "{m.group(1)}"{at}: Cannot find field.'
                )
            return None, self.error(400, f"Invalid JSON payload received. Invalid value{at}.")
        req = body.generate_content_request if isinstance(body, wire.CountTokensRequest) else body
        problem = _check(req, mid) if isinstance(req, wire.GenerateContentRequest) else None
        return body, (None if problem is None else self.error(400, problem))

    def _count(self, mid: str, data: dict[str, Any]) -> EmuResponse:
        body, bad = self._validate(data, wire.CountTokensRequest, mid)
        if bad is not None:
            return bad
        inner = body.generate_content_request
        if (inner is None) == (body.contents is None):
            return self.error(400, "Exactly one of contents or generate_content_request must be set.")
        if inner is not None and inner.model != f"models/{mid}":
            return self.error(
                400, f"* CountTokensRequest.generate_content_request.model: must be models/{mid}, the model of the URL."
            )
        req = inner or structure({"contents": data["contents"]}, wire.GenerateContentRequest)
        n = plan(_conversation(req)).input_tokens
        return EmuResponse.json({"totalTokens": n, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n}]})


def _check(body: wire.GenerateContentRequest, mid: str) -> str | None:
    """Gemini's semantic checks, in Gemini's words."""
    if not body.contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    last_user_text = max(
        (i for i, c in enumerate(body.contents) if c.role != "model" and any(p.text for p in c.parts or [])), default=-1
    )
    prev_calls = 0
    for i, c in enumerate(body.contents):
        if c.role is not None and c.role not in _ROLES:
            return "Please use a valid role: user, model."
        if not c.parts:
            return f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
        calls = [p for p in c.parts if p.function_call is not None]
        answers = sum(1 for p in c.parts if p.function_response is not None)
        if answers and answers != prev_calls:
            return (
                "Please ensure that the number of function response parts is equal to the "
                "number of function call parts of the function call turn."
            )
        first = calls[0] if calls else None
        if (
            first
            and first.function_call
            and mid.startswith("gemini-3")
            and i > last_user_text
            and not first.thought_signature
        ):
            return (
                f"Function call is missing a thought_signature in functionCall parts. This is "
                f"required for tools to work correctly, and missing thought_signature may lead "
                f"to degraded model performance. Additional data, function call "
                f"`default_api:{first.function_call.name}` , position {i + 1}. Please refer "
                "to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
            )
        prev_calls = len(calls) if c.role == "model" else 0
    gc = body.generation_config
    if gc is not None:
        tc = gc.thinking_config
        if tc is not None and tc.thinking_budget == 0 and "pro" in mid:
            return "Budget 0 is invalid. This model only works in thinking mode."
        schema = gc.response_json_schema is not None or gc.response_schema is not None
        if schema and gc.response_mime_type not in ("application/json", "text/x.enum"):
            return "* GenerationConfig.response_mime_type: must be application/json when a response schema is set"
    return None


def _thinking(body: wire.GenerateContentRequest) -> bool:
    tc = body.generation_config.thinking_config if body.generation_config else None
    return bool(tc and tc.include_thoughts and tc.thinking_budget != 0)


def _texts(parts: list[wire.Part] | None) -> list[str]:
    return [p.text for p in parts or [] if p.text and not p.thought]


def _conversation(body: wire.GenerateContentRequest) -> Conversation:
    conv = Conversation()
    texts = _texts(body.system_instruction.parts) if body.system_instruction else []
    for c in body.contents:
        texts.extend(_texts(c.parts))
        if c.role != "model":
            user = _texts(c.parts)
            if user:
                conv.last_user_text = " ".join(user)
            conv.images += sum(
                1
                for p in c.parts or []
                if (p.inline_data and p.inline_data.mime_type.startswith("image/"))
                or (p.file_data and (p.file_data.mime_type or "").startswith("image/"))
            )
    last = body.contents[-1] if body.contents else None
    answers = [p.function_response for p in (last.parts or []) if p.function_response] if last else []
    if answers:
        conv.last_is_tool_result = True
        conv.tool_result_text = " ".join(
            str(r.response["result"]) if set(r.response) == {"result"} else json.dumps(r.response) for r in answers
        )
    conv.all_text = " ".join(texts)
    for tool in body.tools or []:
        for d in tool.function_declarations or []:
            conv.tools.append({"name": d.name, "parameters": d.parameters_json_schema or d.parameters or {}})
    fcc = body.tool_config.function_calling_config if body.tool_config else None
    if fcc is not None and fcc.mode is not None:
        names = fcc.allowed_function_names or []
        modes = {"NONE": "none", "ANY": "required"}
        conv.tool_choice = names[0] if fcc.mode == "ANY" and len(names) == 1 else modes.get(fcc.mode, "auto")
    gc = body.generation_config
    if gc is not None:
        schema = gc.response_json_schema if gc.response_json_schema is not None else gc.response_schema
        conv.json_schema = schema if isinstance(schema, dict) else None
        conv.json_object = schema is None and gc.response_mime_type == "application/json"
        conv.max_tokens = gc.max_output_tokens
    conv.reasoning = _thinking(body)
    return conv


def _signature(name: str) -> str:
    return base64.b64encode(f"emu-signature:{name}".encode()).decode("ascii")


def _usage(p: Plan, thoughts: int, output: int | None = None) -> dict[str, Any]:
    out = p.output_tokens if output is None else output
    u: dict[str, Any] = {
        "promptTokenCount": p.input_tokens,
        "candidatesTokenCount": out,
        "totalTokenCount": p.input_tokens + out + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": p.input_tokens}],
    }
    if thoughts:
        u["thoughtsTokenCount"] = thoughts
    return u


def _cached_usage(resp: dict[str, Any], cached: int) -> dict[str, Any]:
    """Report the tokens read from a cached content (a part of promptTokenCount)."""
    if cached:
        u = resp["usageMetadata"]
        u["cachedContentTokenCount"] = cached
        u["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    return resp


def _finish(p: Plan) -> str:
    return "MAX_TOKENS" if p.truncated else "STOP"


def _call_parts(p: Plan) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"functionCall": {"name": n, "args": a}} for n, a in p.tool_calls]
    if parts:  # Gemini signs the first function call of a turn
        parts[0]["thoughtSignature"] = _signature(p.tool_calls[0][0])
    return parts


def _candidate(parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if finish:
        cand["finishReason"] = finish
    cand["index"] = 0
    return cand


def _response(mid: str, p: Plan, thinking: bool) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    thoughts = count_tokens(p.reasoning) if thinking and p.reasoning else 0
    if thoughts:
        parts.append({"text": p.reasoning, "thought": True})
    if p.text:
        parts.append({"text": p.text})
    parts.extend(_call_parts(p))
    return {
        "candidates": [_candidate(parts, _finish(p))],
        "usageMetadata": _usage(p, thoughts),
        "modelVersion": mid,
        "responseId": "emuResponse0",
    }


def _stream_chunks(mid: str, p: Plan, thinking: bool) -> list[dict[str, Any]]:
    """Delta chunks: thoughts, text word by word, calls whole; finishReason on the last."""
    thoughts = count_tokens(p.reasoning) if thinking and p.reasoning else 0
    steps: list[tuple[list[dict[str, Any]], int]] = []
    if thoughts:
        steps.append(([{"text": p.reasoning, "thought": True}], 0))
    seen = ""
    for piece in chunks(p.text) if p.text else []:
        seen += piece
        steps.append(([{"text": piece}], count_tokens(seen)))
    if p.tool_calls:
        steps.append((_call_parts(p), p.output_tokens))
    if not steps:
        steps.append(([{"text": ""}], 0))
    out = []
    for i, (parts, produced) in enumerate(steps):
        last = i == len(steps) - 1
        out.append(
            {
                "candidates": [_candidate(parts, _finish(p) if last else None)],
                "usageMetadata": _usage(p, thoughts, p.output_tokens if last else produced),
                "modelVersion": mid,
                "responseId": "emuResponse0",
            }
        )
    return out


HANDLER = GeminiHandler()
