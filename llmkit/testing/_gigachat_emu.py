"""Emulated GigaChat under `/gigachat/api/v1`, with its OAuth endpoint at `/gigachat/api/v1/oauth`.

Strict where GigaChat is: the token endpoint wants `Authorization: Basic <base64 key>`, a UUID
`RqUID` header and a form-encoded `scope` of the three GigaChat scopes, and answers
`{"access_token", "expires_at"}` with `expires_at` in epoch milliseconds (30 minutes). The API
accepts tokens it issued (unexpired, not revoked) and ready-made tokens (any, or the emulator's
require_key), and answers with
GigaChat's shapes: no `id`, the model with a version suffix, `functions` calls whose arguments
are JSON objects, `function` messages that must name their function, stream chunks whose
`object` is "chat.completion" with usage on the finishing chunk and then `data: [DONE]`, the
JSON array of /tokens/count, and `{"status", "message"}` errors.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from .._wire import WireValidationError, structure_strict
from ..generated.wire import gigachat as wire
from ._brain import Conversation, Plan, chunks, count_tokens, plan
from ._media_emu import vector
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["EMBED_DIMS", "HANDLER", "GigaChatHandler", "embedding_vector"]

_RQUID = re.compile(r"^[0-9a-fA-F-]{36}$")
_SCOPES = frozenset({"GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP"})
_VERSION = "2.0.28.2"
TOKEN_LIFETIME_MS = 30 * 60 * 1000
EMBED_DIMS = {"Embeddings": 1024, "EmbeddingsGigaR": 2560}


def _models() -> set[str]:
    from ..generated.catalog import MODELS

    return {m.id for m in MODELS if m.provider == "gigachat"}


def _embedders() -> set[str]:
    from ..generated.catalog import MODELS

    return {m.id for m in MODELS if m.provider == "gigachat" and m.capabilities.embeddings}


class GigaChatHandler:
    provider = "gigachat"
    prefix = "/gigachat/api/v1"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.issued: dict[str, int] = {}  # token -> expires_at (ms)
        self.revoked: set[str] = set()

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        return EmuResponse.json({"status": status, "message": message}, status, {"x-request-id": str(uuid.uuid4())})

    def revoke_all(self) -> None:
        """Make every token issued so far fail with 401 (what a server-side revocation looks like)."""
        with self._lock:
            self.revoked.update(self.issued)

    # -- OAuth ---------------------------------------------------------------------------------
    def _oauth(self, req: EmuRequest) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        key = auth[6:] if auth.startswith("Basic ") else ""
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            key = ""
        if not key:
            return EmuResponse.json({"code": 4, "message": "Can't decode 'Authorization' header"}, 401)
        if not _RQUID.match(req.headers.get("rquid", "")):
            return EmuResponse.json({"code": 5, "message": "RqUID header is required and must be a UUID"}, 400)
        if not req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return EmuResponse.json(
                {"code": 7, "message": "Content-Type must be application/x-www-form-urlencoded"}, 400
            )
        form = parse_qs(req.body.decode("utf-8", "replace"))
        scope = (form.get("scope") or [""])[0]
        if scope not in _SCOPES:
            return EmuResponse.json({"code": 7, "message": f"scope {scope!r} is not valid"}, 400)
        token = f"emu-giga-{uuid.uuid4().hex}"
        expires = int(time.time() * 1000) + TOKEN_LIFETIME_MS
        with self._lock:
            self.issued[token] = expires
        return EmuResponse.json({"access_token": token, "expires_at": expires})

    def _auth(self, req: EmuRequest, emu: Emulator) -> EmuResponse | None:
        auth = req.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with self._lock:
            expires = self.issued.get(token)
            revoked = token in self.revoked
        if expires is not None and not revoked and expires > time.time() * 1000:
            return None
        if token and expires is None and not revoked and emu.require_key in (None, token):
            return None  # a ready-made token (the `api_key` setting): any, unless the emulator requires one
        return self.error(401, "Unauthorized")

    # -- dispatch ------------------------------------------------------------------------------
    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        if req.subpath == "/oauth" and req.method == "POST":
            return self._oauth(req)
        denied = self._auth(req, emu)
        if denied is not None:
            return denied
        route = (req.method, req.subpath)
        if route == ("POST", "/chat/completions"):
            return self._chat(req)
        if route == ("POST", "/tokens/count"):
            return self._count(req)
        if route == ("POST", "/embeddings"):
            return self._embed(req)
        if route == ("GET", "/models"):
            data = [
                {
                    "id": m,
                    "object": "model",
                    "owned_by": "salutedevices",
                    "type": "embedder" if m in _embedders() else "chat",
                }
                for m in sorted(_models())
            ]
            return EmuResponse.json({"object": "list", "data": data})
        if route == ("GET", "/balance"):
            return EmuResponse.json({"balance": [{"usage": m, "value": 1000000} for m in sorted(_models())]})
        return self.error(404, "Not Found")

    def _body(self, req: EmuRequest, cls: type[Any]) -> tuple[Any, Any] | EmuResponse:
        try:
            data = req.json()
        except ValueError:
            return self.error(400, "Invalid JSON")
        try:
            return data, structure_strict(data, cls)
        except WireValidationError as exc:
            return self.error(422, f"Invalid params: {exc}")

    def _chat(self, req: EmuRequest) -> EmuResponse:
        parsed = self._body(req, wire.GigaChatRequest)
        if isinstance(parsed, EmuResponse):
            return parsed
        data, body = parsed
        if body.model not in _models() or body.model in _embedders():
            return self.error(404, "No such model")
        conv = Conversation(max_tokens=body.max_tokens)
        names = {f.name for f in body.functions or []}
        for i, m in enumerate(body.messages):
            raw = data["messages"][i]
            if not isinstance(raw.get("content", ""), str):
                return self.error(422, f"messages[{i}].content must be a string")
            if m.role == "function":
                if not m.name:
                    return self.error(422, f"messages[{i}]: a function message needs 'name'")
                try:
                    json.loads(m.content or "")
                except ValueError:
                    return self.error(422, f"messages[{i}].content must be a JSON string for role function")
            if m.function_call is not None and not isinstance(raw["function_call"].get("arguments", {}), dict):
                return self.error(422, f"messages[{i}].function_call.arguments must be an object")
            conv.all_text += " " + (m.content or "")
            if m.role == "user":
                conv.last_user_text = m.content or ""
        last = body.messages[-1]
        conv.last_is_tool_result = last.role == "function"
        conv.tool_result_text = last.content or "" if conv.last_is_tool_result else ""
        conv.tools = [{"name": f.name, "parameters": f.parameters} for f in body.functions or []]
        fc = body.function_call
        if isinstance(fc, str):
            conv.tool_choice = fc
        elif fc is not None:
            if fc.name not in names:
                return self.error(422, f"function_call names unknown function {fc.name!r}")
            conv.tool_choice = fc.name
        p = plan(conv)
        model = f"{body.model}:{_VERSION}"
        if body.stream:
            return EmuResponse.sse(_stream(model, p), {"x-request-id": str(uuid.uuid4())})
        return EmuResponse.json(_response(model, p), headers={"x-request-id": str(uuid.uuid4())})

    def _count(self, req: EmuRequest) -> EmuResponse:
        parsed = self._body(req, wire.GigaTokensCountRequest)
        if isinstance(parsed, EmuResponse):
            return parsed
        _, body = parsed
        if body.model not in _models():
            return self.error(404, "No such model")
        return EmuResponse.json(
            [{"object": "tokens", "tokens": count_tokens(t), "characters": len(t)} for t in body.input]
        )

    def _embed(self, req: EmuRequest) -> EmuResponse:
        parsed = self._body(req, wire.GigaEmbeddingsRequest)
        if isinstance(parsed, EmuResponse):
            return parsed
        data, body = parsed
        extra = sorted(set(data) - {"model", "input"})
        if extra:
            return self.error(422, f"Invalid params: unknown field(s) {extra}")
        if body.model not in _embedders():
            return self.error(404, "No such model")
        if not body.input:
            return self.error(422, "Invalid params: input must not be empty")
        items = [
            {
                "object": "embedding",
                "index": i,
                "embedding": embedding_vector(body.model, t),
                "usage": {"prompt_tokens": count_tokens(t) + 2},
            }
            for i, t in enumerate(body.input)
        ]
        return EmuResponse.json({"object": "list", "model": body.model, "data": items})


def embedding_vector(model: str, text: str) -> list[float]:
    """What the emulated /embeddings returns for one text (1024 values for Embeddings, 2560 for
    EmbeddingsGigaR; recalled sizes)."""
    return vector(f"{model}:{text}", EMBED_DIMS.get(model, 1024))


def _usage(p: Plan) -> dict[str, int]:
    return {
        "prompt_tokens": p.input_tokens,
        "completion_tokens": p.output_tokens,
        "total_tokens": p.input_tokens + p.output_tokens,
        "precached_prompt_tokens": 0,
    }


def _finish(p: Plan) -> str:
    return "function_call" if p.tool_calls else ("length" if p.truncated else "stop")


def _message(p: Plan) -> dict[str, Any]:
    msg: dict[str, Any] = {"content": p.text, "role": "assistant"}
    if p.tool_calls:
        name, args = p.tool_calls[0]
        msg["function_call"] = {"name": name, "arguments": args}
        msg["functions_state_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    return msg


def _response(model: str, p: Plan) -> dict[str, Any]:
    return {
        "choices": [{"message": _message(p), "index": 0, "finish_reason": _finish(p)}],
        "created": int(time.time()),
        "model": model,
        "object": "chat.completion",
        "usage": _usage(p),
    }


def _stream(model: str, p: Plan) -> list[str]:
    created = int(time.time())
    deltas: list[dict[str, Any]] = [] if p.tool_calls else [{"content": c} for c in chunks(p.text)]
    if p.tool_calls:
        deltas.append({k: v for k, v in _message(p).items() if k != "role"})
    deltas[0] = {**deltas[0], "role": "assistant"}
    out = []
    for i, delta in enumerate(deltas):
        choice: dict[str, Any] = {"delta": delta, "index": 0}
        chunk: dict[str, Any] = {"choices": [choice], "created": created, "model": model, "object": "chat.completion"}
        if i == len(deltas) - 1:
            choice["finish_reason"] = _finish(p)
            chunk["usage"] = _usage(p)
        out.append(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
    out.append("data: [DONE]\n\n")
    return out


HANDLER = GigaChatHandler()
