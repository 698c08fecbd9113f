"""Building Gemini request bodies from unified ChatRequests (the request half of the dialect).

Kept apart from parsing so each half reads on its own. The rules that matter, and why:
system text -> `systemInstruction` (Gemini has no system role); assistant -> `model`; tool
results -> `functionResponse` parts of ONE user turn (Gemini wants every call of a turn
answered together); tool arguments and results are JSON objects, not strings; thought
signatures go back exactly where Gemini put them; images as bytes or data: URLs go inline,
other URLs by reference (`fileData`).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .._errors import BadRequestError, ConfigError
from .._types import (
    ChatRequest,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    split_data_url,
)

__all__ = ["EFFORT_BUDGETS", "SIGNATURE", "SYNTHETIC", "build_body", "model_path"]

EFFORT_BUDGETS: dict[str, int] = {
    "none": 0,
    "minimal": 0,
    "low": 1024,
    "medium": 8192,
    "high": 24576,
}

_MIME_BY_EXT = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "pdf": "application/pdf",
}

_MODES = {
    "auto": "AUTO",
    "none": "NONE",
    "required": "ANY",
    "any": "ANY",
    "validated": "VALIDATED",
}
SIGNATURE = "thoughtSignature"
SYNTHETIC = "synthetic_id"


def model_path(model: str) -> str:
    # Users may write the resource name (`models/gemini-2.5-flash`); the path adds `models/`.
    return model[len("models/") :] if model.startswith("models/") else model


def _guess_mime(url: str, default: str) -> str:
    tail = url.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    ext = tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
    return _MIME_BY_EXT.get(ext, default)


def _media(url: str | None, data: bytes | None, media_type: str | None, default: str) -> dict[str, Any]:
    """bytes and data: URLs go inline (base64); other URLs by reference as fileData."""
    if data is not None:
        return {"inlineData": {"mimeType": media_type or default, "data": base64.b64encode(data).decode("ascii")}}
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
                    part[SIGNATURE] = p.signature
                out.append(part)
            elif p.signature:
                if pending_sig is not None:
                    out.append({SIGNATURE: pending_sig})
                pending_sig = p.signature  # rides on the next text part, where it came from
        elif isinstance(p, TextPart):
            part = {"text": p.text}
            if pending_sig is not None:
                part[SIGNATURE] = pending_sig
                pending_sig = None
            out.append(part)
        else:
            out.extend(_user_parts([p]))
    if pending_sig is not None:
        out.append({SIGNATURE: pending_sig})
    for c in m.tool_calls:
        call: dict[str, Any] = {"name": c.name, "args": c.arguments}
        data = c.provider_data or {}
        if c.id and not data.get(SYNTHETIC):
            call["id"] = c.id
        part = {"functionCall": call}
        if data.get(SIGNATURE):
            part[SIGNATURE] = data[SIGNATURE]
        out.append(part)
    return out


def _function_response(m: Message, names: dict[str, tuple[str, bool]], provider: str) -> dict[str, Any]:
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
                names[c.id] = (c.name, bool((c.provider_data or {}).get(SYNTHETIC)))
            parts = _model_parts(m)
            if parts:
                contents.append({"role": "model", "parts": parts})
        elif m.role == "tool":
            part = _function_response(m, names, provider)
            last = contents[-1] if contents else None
            if last and last["role"] == "user" and all("functionResponse" in p for p in last["parts"]):
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
    for key, value in (
        ("maxOutputTokens", req.max_tokens),
        ("temperature", req.temperature),
        ("topP", req.top_p),
        ("seed", req.seed),
    ):
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
            raise ConfigError(f"reasoning_effort must be one of {sorted(EFFORT_BUDGETS)}, got {req.reasoning_effort!r}")
        budget = EFFORT_BUDGETS[req.reasoning_effort]
    if budget is not None:
        gc["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": True} if budget else {"thinkingBudget": 0}
    return gc


def build_body(req: ChatRequest, provider: str, *, with_config: bool = True) -> dict[str, Any]:
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
    if body.get("cachedContent") and any(k in body for k in _CACHED_PARTS):
        raise ConfigError(
            "a chat with cachedContent cannot also send a system prompt, tools or tool_choice: Gemini "
            "takes them from the cache only; put them in client.context_caches.create(...) instead",
            provider=provider,
        )
    return body


_CACHED_PARTS = ("systemInstruction", "tools", "toolConfig")
