"""Emulated OpenAI-compatible providers: each under `/<id>` + its real base path, with its auth
form, its strictness and its stream habits.

Everything a provider's spec says (chat path, auth header and prefix, whether a key is
needed, its catalog of models) is read from the spec; what the spec cannot say about the
server is its `Profile` in `_compat_profiles`. The emulator registers every handler from
`HANDLERS`; each is also importable as `llmkit.testing._compat_emu.<id>` (holding `HANDLER`).
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import types
from typing import Any
from urllib.parse import unquote, urlsplit

from .._registry import provider_spec
from .._spec import ProviderSpec
from .._wire import WireValidationError, structure_strict
from ..generated.wire import openai_chat as wire
from ._brain import Plan, chunks, plan
from ._compat_media import handle_media
from ._compat_profiles import OPENAI_FIELDS, PROFILES, Profile, error_body
from ._openai_emu import _calls, _conversation, _finish, _known_models, _reasoning_models, _usage
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLERS", "CompatHandler"]

_ALNUM9 = re.compile(r"^[A-Za-z0-9]{9}$")


class CompatHandler:
    """One OpenAI-compatible provider's emulation, built from its spec and profile."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.profile: Profile = PROFILES[provider]
        self.spec: ProviderSpec = provider_spec(provider)
        self.prefix = "/" + provider + urlsplit(self.spec.base_url or "").path.rstrip("/")
        self.chat_path = self.spec.operations["create_chat_completion"].path

    def error(self, status: int, message: str, kind: str = "", param: str | None = None) -> EmuResponse:
        return error_body(self.profile, status, message, kind, param)

    # -- routing ---------------------------------------------------------------------------------
    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        denied = self._auth(req, emu)
        if denied is not None:
            return denied
        if req.subpath == self.chat_path and req.method == "POST":
            return self._chat(req)
        if req.subpath == "/models" and req.method == "GET" and "list_models" in self.spec.operations:
            ids = sorted(_known_models(self.provider)) or ["local-model"]
            data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": self.provider} for m in ids]
            return EmuResponse.json({"object": "list", "data": data})
        media = handle_media(req, self.spec, lambda s, m, p: self.error(s, m, param=p), self.profile)
        if media is not None:
            return media
        if req.subpath.startswith("/models/") and req.method == "GET" and "retrieve_model" in self.spec.operations:
            mid = unquote(req.subpath[len("/models/") :])
            if mid not in _known_models(self.provider):
                return self.error(404, f"The model `{mid}` does not exist")
            return EmuResponse.json({"id": mid, "object": "model", "created": 1700000000, "owned_by": self.provider})
        return self.error(404, f"Invalid URL ({req.method} {req.path})")

    def _auth(self, req: EmuRequest, emu: Emulator) -> EmuResponse | None:
        auth = self.spec.auth
        value = req.headers.get((auth.header or "authorization").lower())
        key = None
        for prefix in (auth.prefix, *self.profile.auth_prefixes):
            if value is not None and value.startswith(prefix) and value[len(prefix) :]:
                key = value[len(prefix) :]
                break
        if key is None and (auth.required or value is not None):
            return self.error(401, f"Missing or malformed credentials: expected `{auth.header}: {auth.prefix}<key>`")
        if key is not None and emu.require_key is not None and key != emu.require_key:
            return self.error(401, "Invalid API key provided")
        return None

    # -- validation ------------------------------------------------------------------------------
    def _check_fields(self, data: dict[str, Any]) -> EmuResponse | None:
        prof = self.profile
        allowed = prof.fields if prof.fields is not None else (OPENAI_FIELDS - prof.refused) | prof.extra_fields
        for key in data:
            if key in allowed:
                continue
            if key in prof.refused:
                return self.error(400, f"`{key}` is not supported by this provider", param=key)
            text = "Extra inputs are not permitted" if prof.unknown_status == 422 else "Unrecognized request argument"
            return self.error(prof.unknown_status, f"{text}: {key}", param=key)
        return None

    def _check_messages(self, messages: list[Any]) -> EmuResponse | None:
        prof = self.profile
        roles = [m.get("role") for m in messages if isinstance(m, dict)]
        if prof.role_order == "alternate":
            rest = roles[next((i for i, r in enumerate(roles) if r != "system"), len(roles)) :]
            want = ["user" if i % 2 == 0 else "assistant" for i in range(len(rest))]
            if rest != want or not rest or rest[-1] != "user":
                return self.error(
                    400, "After the (optional) system message(s), user and assistant roles should be alternating."
                )
        if prof.role_order == "mistral":
            for before, after in itertools.pairwise(roles):
                if before == "tool" and after == "user":
                    return self.error(400, "Unexpected role 'user' after role 'tool'", "invalid_request_message_order")
            if roles and roles[-1] not in ("user", "tool"):
                return self.error(400, f"Expected last role User or Tool but got {roles[-1]}")
            for i, m in enumerate(messages):
                if m.get("role") != "tool" and "name" in m:
                    return self.error(422, "Extra inputs are not permitted", param=f"messages.{i}.name")
        if prof.tool_id_alnum9:
            ids = [m.get("tool_call_id") for m in messages if m.get("role") == "tool"]
            ids += [c.get("id") for m in messages for c in m.get("tool_calls") or []]
            for cid in ids:
                if not isinstance(cid, str) or not _ALNUM9.match(cid):
                    return self.error(
                        400, f"Tool call id was {cid} but must be a-z, A-Z, 0-9, with a length of 9.", "invalid_request"
                    )
        return None

    def _chat(self, req: EmuRequest) -> EmuResponse:
        try:
            data = req.json()
        except ValueError:
            return self.error(400, "The request body is not valid JSON.")
        if not isinstance(data, dict):
            return self.error(400, "The request body must be a JSON object.")
        messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
        denied = self._check_fields(data) or self._check_messages(messages)
        if denied is not None:
            return denied
        check = {k: v for k, v in data.items() if k in OPENAI_FIELDS}
        if check.get("tool_choice") == "any":
            check["tool_choice"] = "required"
        check["messages"] = [
            {k: v for k, v in m.items() if k not in self.profile.message_extras} if isinstance(m, dict) else m
            for m in check.get("messages") or []
        ]
        try:
            body = structure_strict(check, wire.CreateChatCompletionRequest)
        except WireValidationError as exc:
            return self.error(self.profile.unknown_status, f"Invalid request: {exc}")
        if not body.messages:
            return self.error(400, "messages must not be empty", param="messages")
        model = body.model.split(":", 1)[0] if self.profile.model_suffixes else body.model
        if not self.profile.any_model and model not in _known_models(self.provider):
            return self.error(404, f"The model `{body.model}` does not exist or you do not have access to it.")
        conv = _conversation(body, check)
        conv.reasoning = bool(self.profile.reasoning_key) and (
            conv.reasoning or model in _reasoning_models(self.provider)
        )
        p = plan(conv)
        extras = self._extras(conv.last_user_text)
        if body.stream:
            include = bool(body.stream_options and body.stream_options.include_usage)
            return EmuResponse.sse(self._stream(body.model, p, include, extras), {"x-request-id": "req_emu_stream"})
        return EmuResponse.json(self._response(body.model, p, extras), headers={"x-request-id": "req_emu"})

    # -- rendering -------------------------------------------------------------------------------
    def _calls(self, p: Plan) -> list[dict[str, Any]]:
        calls = _calls(p)
        if self.profile.tool_id_alnum9:
            for i, c in enumerate(calls):
                c["id"] = f"emucall{i:02d}"
        return calls

    def _usage(self, p: Plan) -> dict[str, Any]:
        prof = self.profile
        u = _usage(p)
        if prof.error_shape == "mistral":
            u = {k: u[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
        if prof.cache_usage:
            u["prompt_cache_hit_tokens"] = 0
            u["prompt_cache_miss_tokens"] = u["prompt_tokens"]
        if prof.x_groq:
            u.update(queue_time=0.01, prompt_time=0.002, completion_time=0.02, total_time=0.032)
        if prof.citations:
            u.update(citation_tokens=0, num_search_queries=1, search_context_size="low")
        return u

    def _extras(self, query: str) -> dict[str, Any]:
        """Response-level fields the provider adds beyond OpenAI's (search results for `query`)."""
        prof = self.profile
        out: dict[str, Any] = {}
        if prof.citations:
            url = "https://example.com/search?q=" + "+".join(query.split()[:3])
            out["citations"] = [url]
            out["search_results"] = [{"title": f"Results for {query[:40]}", "url": url, "date": "2025-01-01"}]
        if prof.upstream:
            out["provider"] = prof.upstream
        return out

    def _response(self, model: str, p: Plan, extras: dict[str, Any]) -> dict[str, Any]:
        prof = self.profile
        msg: dict[str, Any] = {"role": "assistant", "content": p.text or None}
        if p.tool_calls:
            msg["tool_calls"] = self._calls(p)
        if p.reasoning and prof.reasoning_key == "chunks":
            thinking = {"type": "thinking", "thinking": [{"type": "text", "text": p.reasoning}]}
            msg["content"] = [thinking, {"type": "text", "text": p.text}]
        elif p.reasoning and prof.reasoning_key:
            msg[prof.reasoning_key] = p.reasoning
        out: dict[str, Any] = {
            "id": None if prof.null_id else "chatcmpl-emu",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": _finish(p)}],
            **extras,
        }
        if not prof.omit_usage:
            out["usage"] = self._usage(p)
        if prof.x_groq:
            out["x_groq"] = {"id": "req_emu_groq"}
        if prof.time_info:
            out["time_info"] = {
                "queue_time": 0.0001,
                "prompt_time": 0.001,
                "completion_time": 0.01,
                "total_time": 0.012,
            }
        return out

    def _stream(self, model: str, p: Plan, include_usage: bool, extras: dict[str, Any]) -> list[str]:
        prof = self.profile
        base = {"id": "chatcmpl-emu", "object": "chat.completion.chunk", "created": 1700000000, "model": model}

        def chunk(delta: dict[str, Any], finish: str | None = None, more: dict[str, Any] | None = None) -> str:
            c = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extras, **(more or {})}
            return f"data: {json.dumps(c, ensure_ascii=False)}\n\n"

        out = [f"{prof.keepalive}\n\n"] if prof.keepalive else []
        out.append(
            chunk(
                {"role": "assistant", "content": ""}, None, {"x_groq": {"id": "req_emu_groq"}} if prof.x_groq else None
            )
        )
        if prof.keepalive:
            out.append(f"{prof.keepalive}\n\n")
        for piece in chunks(p.reasoning) if p.reasoning and prof.reasoning_key else []:
            if prof.reasoning_key == "chunks":
                out.append(chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": piece}]}]}))
            else:
                out.append(chunk({str(prof.reasoning_key): piece}))
        if p.text:
            out.extend(chunk({"content": piece}) for piece in chunks(p.text))
        for i, call in enumerate(self._calls(p)):
            fn = call["function"]
            start = {
                "index": i,
                "id": call["id"],
                "type": "function",
                "function": {"name": fn["name"], "arguments": ""},
            }
            out.append(chunk({"tool_calls": [start]}))
            half = len(fn["arguments"]) // 2
            for piece in (fn["arguments"][:half], fn["arguments"][half:]):
                out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
        last: dict[str, Any] = {}
        if prof.usage_mode == "last_chunk" and not prof.omit_usage:
            last["usage"] = self._usage(p)
        if prof.x_groq:
            last["x_groq"] = {"id": "req_emu_groq", "usage": self._usage(p)}
        if prof.time_info:
            last["time_info"] = {
                "queue_time": 0.0001,
                "prompt_time": 0.001,
                "completion_time": 0.01,
                "total_time": 0.012,
            }
        out.append(chunk({}, _finish(p), last))
        if include_usage and prof.usage_mode in ("include_usage", "x_groq") and not prof.omit_usage:
            out.append(f"data: {json.dumps({**base, 'choices': [], 'usage': self._usage(p)})}\n\n")
        out.append("data: [DONE]\n\n")
        return out


def _register() -> dict[str, CompatHandler]:
    """A handler per profile, each also importable as `llmkit.testing._compat_emu.<id>`."""
    handlers = {}
    for pid in sorted(PROFILES):
        handler = CompatHandler(pid)
        module = types.ModuleType(f"{__name__}.{pid}", f"The emulated {pid} server; see {__name__}.")
        setattr(module, "HANDLER", handler)  # noqa: B010 - a synthetic module's only attribute
        sys.modules[module.__name__] = module
        handlers[pid] = handler
    return handlers


HANDLERS = _register()
