"""Cloudflare Workers AI's chat dialect: the OpenAI-compatible route under an account.

Why this route for the unified chat: `/accounts/{account_id}/ai/v1/chat/completions` answers
standard OpenAI completions (string tool arguments, `finish_reason`, usage, SSE ending in
`[DONE]`), while the native `ai/run/{model}` wraps answers in the v4 envelope, streams bare
`{"response"}` chunks and has no finish reason; `ai/run` stays a native operation. So this
adapter is the openai_chat adapter plus two things: the account id goes into the path, and
errors arrive in Cloudflare's envelope (`{"success": false, "errors": [{"code", "message"}]}`).

Pure functions only: no I/O, no branching on a provider id.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from .._errors import ConfigError
from .._types import ChatRequest, ChatResponse
from . import openai_chat
from ._base import CallContext, ErrorInfo, WireRequest, encode_path_segment

__all__ = ["DIALECT", "CloudflareDialect", "envelope_error"]


def envelope_error(data: Any) -> ErrorInfo | None:
    """The first error of a v4 envelope, or None when `data` is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list) or not data["errors"]:
        return None
    first = data["errors"][0]
    if not isinstance(first, dict):
        return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])
    code = first.get("code")
    return ErrorInfo(message=str(first.get("message") or "error"), code=None if code is None else str(code))


class CloudflareDialect:
    """Adapter for Workers AI's OpenAI-compatible chat."""

    name = "cloudflare"

    def chat_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        account = ctx.settings.get("account_id")
        if not account:
            raise ConfigError(
                f"{ctx.provider} needs your account id: pass providers={{'cloudflare': {{'account_id': ...}}}} "
                "(or set CLOUDFLARE_ACCOUNT_ID)",
                provider=ctx.provider,
            )
        wire = openai_chat.DIALECT.chat_request(req, ctx)
        return attrs.evolve(wire, path=wire.path.replace("{account_id}", encode_path_segment(str(account))))

    def parse_chat(self, data: Any, ctx: CallContext) -> ChatResponse:
        return openai_chat.DIALECT.parse_chat(data, ctx)

    def stream_decoder(self, ctx: CallContext) -> openai_chat._Decoder:
        return openai_chat.DIALECT.stream_decoder(ctx)

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        """The v4 envelope's first error (code and message); other bodies as OpenAI's."""
        return envelope_error(data) or openai_chat.DIALECT.error_info(status, data)

    def count_tokens_request(self, req: ChatRequest, ctx: CallContext) -> WireRequest:
        raise NotImplementedError("Workers AI has no token counting endpoint")

    def parse_count_tokens(self, data: Any, ctx: CallContext) -> int:
        raise NotImplementedError("Workers AI has no token counting endpoint")


DIALECT = CloudflareDialect()
