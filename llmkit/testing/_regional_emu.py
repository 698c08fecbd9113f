"""Emulated Chinese OpenAI-compatible hosts (Qwen/DashScope, Moonshot, Zhipu, Baichuan) and the
deployment-URL hosts (Anyscale, Lambda, Lepton, Modal), each under `/<id>` + its base path.

They reuse the compat emulator's routing, auth and validation (`CompatHandler`) but answer
in their own shapes, which differ from OpenAI's in ways a client must survive (facts from
shared/reference/wire-facts-more.md §1-§5):

- qwen: every chunk carries OpenAI's full key set with explicit nulls; usage comes in a
  `choices: []` chunk when asked; thinking (`enable_thinking`) only in streams, and the
  open-source Qwen3 models think unless told not to; errors add a top-level `request_id`.
- moonshot: stream usage inside `choices[0]` of the finish chunk; the first tool-call delta
  has no `index`; `thinking: {type}`; kimi-k2.6 accepts no temperature but 1; errors
  without `code`.
- zhipu: chunks without `object`, `role` on every delta, usage on the finish chunk, tool
  calls whole on a chunk that already says `tool_calls`, then a second finish chunk; GLM-4.5+
  think unless `thinking.type` is `disabled`; errors carry a numeric-string `code`.
- baichuan: usage on the finish chunk; `X-BC-Request-Id`; OpenAI-like errors with a code.
- the deployment hosts: a vLLM-like server that serves any model name; Modal also accepts
  its proxy-token headers (`Modal-Key` / `Modal-Secret`).

Each handler is importable as `llmkit.testing._regional_emu.<id>` (holding `HANDLER`) for the
emulator's registry.
"""

from __future__ import annotations

import json
import sys
import types
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

from .._registry import provider_spec
from .._wire import WireValidationError, structure_strict
from ..generated.wire import openai_chat as wire
from ._brain import Plan, chunks, plan
from ._compat_emu import CompatHandler
from ._compat_profiles import OPENAI_FIELDS, Profile
from ._openai_emu import _conversation, _finish, _known_models, _reasoning_models
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLERS", "RegionalHandler"]

Style = Literal["qwen", "moonshot", "zhipu", "baichuan", "openai"]
_CREATED = 1735113344


@attrs.frozen(kw_only=True)
class _Host:
    style: Style
    profile: Profile
    prefix: str | None = None  # default: `/<id>` + the base URL's path


_HOSTS: dict[str, _Host] = {
    "qwen": _Host(
        style="qwen",
        profile=Profile(
            extra_fields=frozenset(
                {"enable_thinking", "thinking_budget", "enable_search", "search_options", "top_k"}
                | {"repetition_penalty", "translation_options", "vl_high_resolution_images"}
            ),
            reasoning_key="reasoning_content",
        ),
    ),
    "moonshot": _Host(
        style="moonshot",
        profile=Profile(
            extra_fields=frozenset({"thinking"}),
            message_extras=frozenset({"reasoning_content", "partial", "name"}),
            reasoning_key="reasoning_content",
            usage_mode="last_chunk",
        ),
    ),
    "zhipu": _Host(
        style="zhipu",
        profile=Profile(
            extra_fields=frozenset(
                {"thinking", "do_sample", "tool_stream", "request_id", "user_id", "watermark_enabled"}
            ),
            reasoning_key="reasoning_content",
            usage_mode="last_chunk",
        ),
    ),
    "baichuan": _Host(
        style="baichuan",
        profile=Profile(
            extra_fields=frozenset({"with_search_enhance", "knowledge_base", "top_k"}),
            usage_mode="last_chunk",
        ),
    ),
    **{
        pid: _Host(
            style="openai",
            profile=Profile(any_model=True, reasoning_key="reasoning_content", extra_fields=frozenset({"top_k"})),
            prefix=f"/{pid}/v1",
        )
        for pid in ("anyscale", "lambda", "lepton", "modal")
    },
}

_ZHIPU_CODES = {400: "1210", 401: "1002", 404: "1211", 429: "1302", 500: "500"}
_QWEN_CODES = {400: "invalid_parameter_error", 401: "invalid_api_key", 404: "model_not_found", 429: "Throttling"}
_MOONSHOT_TYPES = {
    400: "invalid_request_error",
    401: "invalid_authentication_error",
    403: "permission_denied_error",
    404: "resource_not_found_error",
    429: "rate_limit_reached_error",
    500: "server_error",
}


class RegionalHandler(CompatHandler):
    """One host's emulation: the compat handler's checks, this host's shapes and rules."""

    def __init__(self, provider: str, host: _Host) -> None:
        self.provider = provider
        self.profile = host.profile
        self.style: Style = host.style
        self.spec = provider_spec(provider)
        self.prefix = host.prefix or "/" + provider + urlsplit(self.spec.base_url or "").path.rstrip("/")
        self.chat_path = self.spec.operations["create_chat_completion"].path

    # -- errors ----------------------------------------------------------------------------------
    def error(self, status: int, message: str, kind: str = "", param: str | None = None) -> EmuResponse:
        data: dict[str, Any]
        headers = {"x-request-id": "req_emu_error"}
        if self.style == "qwen":
            code = kind or _QWEN_CODES.get(status, "InternalError")
            err = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
            data = {"error": err, "request_id": "b02e047c-emu"}
        elif self.style == "moonshot":
            data = {"error": {"message": message, "type": kind or _MOONSHOT_TYPES.get(status, "server_error")}}
        elif self.style == "zhipu":
            data = {"error": {"code": kind or _ZHIPU_CODES.get(status, "500"), "message": message}}
        elif self.style == "baichuan":
            data = {"error": {"code": kind or str(status), "message": message, "type": "invalid_request_error"}}
            headers = {"x-bc-request-id": "bc-emu-error"}
        else:
            data = {
                "error": {"message": message, "type": kind or "invalid_request_error", "param": param, "code": None}
            }
        return EmuResponse.json(data, status, headers)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        if self.provider == "modal" and req.headers.get("modal-key") and req.headers.get("modal-secret"):
            req = attrs.evolve(req, headers={**req.headers, "authorization": "Bearer modal-proxy-token"})
        return super().handle(req, emu)

    # -- chat ------------------------------------------------------------------------------------
    def _chat(self, req: EmuRequest) -> EmuResponse:
        try:
            data = req.json()
        except ValueError:
            return self.error(400, "The request body is not valid JSON.")
        if not isinstance(data, dict):
            return self.error(400, "The request body must be a JSON object.")
        messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
        denied = self._check_fields(data) or self._check_messages(messages) or self._host_rules(data)
        if denied is not None:
            return denied
        check = {k: v for k, v in data.items() if k in OPENAI_FIELDS}
        check["messages"] = [{k: v for k, v in m.items() if k not in self.profile.message_extras} for m in messages]
        try:
            body = structure_strict(check, wire.CreateChatCompletionRequest)
        except WireValidationError as exc:
            return self.error(400, f"Invalid request: {exc}")
        if not body.messages:
            return self.error(400, "messages must not be empty", param="messages")
        if not self.profile.any_model and body.model not in _known_models(self.provider):
            return self.error(404, f"Model {body.model} does not exist or you do not have access to it.")
        conv = _conversation(body, check)
        conv.reasoning = self._thinks(body.model, data)
        p = plan(conv)
        if body.stream:
            include = bool(body.stream_options and body.stream_options.include_usage)
            return EmuResponse.sse(self._stream(body.model, p, include, {}), self._headers())
        return EmuResponse.json(self._response(body.model, p, {}), headers=self._headers())

    def _headers(self) -> dict[str, str]:
        return {"x-bc-request-id": "bc-emu"} if self.style == "baichuan" else {"x-request-id": "req_emu"}

    def _host_rules(self, data: dict[str, Any]) -> EmuResponse | None:
        """What each host refuses that OpenAI would accept."""
        model = str(data.get("model") or "")
        if self.style == "qwen" and not data.get("stream") and self._thinks(model, data):
            return self.error(
                400, "parameter.enable_thinking must be set to false for non-streaming calls", "InvalidParameter"
            )
        if self.style == "moonshot" and model == "kimi-k2.6" and data.get("temperature", 1) != 1:
            return self.error(400, "invalid temperature: only 1 is allowed for this model")
        thinking = data.get("thinking")
        if thinking is not None and (
            not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled")
        ):
            return self.error(400, "invalid thinking: type must be enabled or disabled")
        return None

    def _thinks(self, model: str, data: dict[str, Any]) -> bool:
        """Whether this request gets reasoning, by each host's own defaults."""
        reasoning_model = model in _reasoning_models(self.provider)
        if self.style == "qwen":
            if model.endswith("-thinking-2507") or model.startswith("qwq"):
                return True
            open_source = model.startswith("qwen3-") and "-max" not in model and "-coder" not in model
            flag = data.get("enable_thinking")
            return reasoning_model and (bool(flag) if flag is not None else open_source)
        thinking = data.get("thinking")
        if self.style in ("zhipu", "moonshot"):
            kind = thinking.get("type") if isinstance(thinking, dict) else None
            default = self.style == "zhipu" or model == "kimi-k2-thinking"
            return reasoning_model and (kind == "enabled" if kind is not None else default)
        return bool(self.profile.reasoning_key) and data.get("reasoning_effort") is not None

    # -- answers ---------------------------------------------------------------------------------
    def _response(self, model: str, p: Plan, extras: dict[str, Any]) -> dict[str, Any]:
        out = super()._response(model, p, extras)
        if self.style == "qwen":
            out.update(system_fingerprint=None, service_tier=None)
            out["usage"]["prompt_tokens_details"] = {"cached_tokens": 0}
        elif self.style == "zhipu":
            out["id"] = "20250926190540emu"
            out["request_id"] = "20250926190540emu"
        elif self.style == "moonshot":
            out["system_fingerprint"] = "fpv0_emu"
        return out

    def _stream(self, model: str, p: Plan, include_usage: bool, extras: dict[str, Any]) -> list[str]:
        if self.style == "openai":
            return super()._stream(model, p, include_usage, extras)
        out: list[str] = []
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"reasoning_content": piece} for piece in (chunks(p.reasoning) if p.reasoning else [])]
        deltas += [{"content": piece} for piece in chunks(p.text)] if p.text else []
        calls = self._calls(p)
        if self.style == "zhipu":
            return self._zhipu_stream(model, p, deltas, calls)
        for i, call in enumerate(calls):
            fn = call["function"]
            start: dict[str, Any] = {"index": i, "id": call["id"], "type": "function"}
            start["function"] = {"name": fn["name"], "arguments": ""}
            if self.style == "moonshot":
                del start["index"]  # Moonshot's first tool-call delta may come without an index
            deltas.append({"tool_calls": [start]})
            deltas.append({"tool_calls": [{"index": i, "function": {"arguments": fn["arguments"]}}]})
        usage = self._usage(p)
        for d in deltas:
            out.append(self._chunk(model, d, None))
        if self.style == "qwen":
            out.append(self._chunk(model, {"content": ""}, _finish(p)))
            if include_usage:
                u = {k: usage[k] for k in ("completion_tokens", "prompt_tokens", "total_tokens")}
                u.update(
                    completion_tokens_details=None, prompt_tokens_details={"audio_tokens": None, "cached_tokens": 0}
                )
                out.append(self._frame({**self._base(model), "choices": [], "usage": u}))
        elif self.style == "moonshot":
            choice = {"index": 0, "delta": {}, "finish_reason": _finish(p), "usage": usage}
            out.append(self._frame({**self._base(model), "choices": [choice], "system_fingerprint": "fpv0_emu"}))
        else:
            out.append(self._frame({**self._base(model), **self._choices({}, _finish(p)), "usage": usage}))
        out.append("data: [DONE]\n\n")
        return out

    def _zhipu_stream(self, model: str, p: Plan, deltas: list[dict[str, Any]], calls: list[Any]) -> list[str]:
        base = {"id": "20250926190540emu", "created": _CREATED, "model": model}
        out = [self._frame({**base, "choices": [{"index": 0, "delta": {"role": "assistant", **d}}]}) for d in deltas]
        usage = {**self._usage(p), "prompt_tokens_details": {"cached_tokens": 0}}
        finish = _finish(p)
        if calls:
            whole = [{**c, "index": i} for i, c in enumerate(calls)]
            delta = {"role": "assistant", "tool_calls": whole}
            out.append(self._frame({**base, "choices": [{"index": 0, "finish_reason": finish, "delta": delta}]}))
        last = {"index": 0, "finish_reason": finish, "delta": {"role": "assistant", "content": ""}}
        out.append(self._frame({**base, "choices": [last], "usage": usage}))
        out.append("data: [DONE]\n\n")
        return out

    def _base(self, model: str) -> dict[str, Any]:
        return {"id": "chatcmpl-emu", "object": "chat.completion.chunk", "created": _CREATED, "model": model}

    def _choices(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        if self.style == "qwen":
            full = {"content": None, "function_call": None, "refusal": None, "role": None, "tool_calls": None}
            full.update(delta)
            if "role" not in delta:
                del full["role"]
            return {"choices": [{"delta": full, "finish_reason": finish, "index": 0, "logprobs": None}]}
        return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def _chunk(self, model: str, delta: dict[str, Any], finish: str | None) -> str:
        c = {**self._base(model), **self._choices(delta, finish)}
        if self.style == "qwen":
            c.update(service_tier=None, system_fingerprint=None, usage=None)
        elif self.style == "moonshot":
            c["system_fingerprint"] = "fpv0_emu"
        return self._frame(c)

    @staticmethod
    def _frame(data: dict[str, Any]) -> str:
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _register() -> dict[str, RegionalHandler]:
    handlers = {}
    for pid in sorted(_HOSTS):
        handler = RegionalHandler(pid, _HOSTS[pid])
        module = types.ModuleType(f"{__name__}.{pid}", f"The emulated {pid} server; see {__name__}.")
        setattr(module, "HANDLER", handler)  # noqa: B010 - a synthetic module's only attribute
        sys.modules[module.__name__] = module
        handlers[pid] = handler
    return handlers


HANDLERS = _register()
