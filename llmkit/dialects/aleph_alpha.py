"""The Aleph Alpha dialect: OpenAI-shaped `chat/completions` plus Aleph Alpha's error bodies.

The inference API's chat route speaks OpenAI's bodies (tool arguments as strings,
`stream_options.include_usage`, `data: [DONE]`), so chat is the openai_chat adapter. What is
Aleph Alpha's own is the errors: a body may be plain text or JSON (`{"error", "code"}`), and
402 means the credits are used up: that is reported as `insufficient_quota`, which the
transport never retries, while 503 (busy) stays a retryable ServerError.
"""

from __future__ import annotations

from typing import Any

from ._base import ErrorInfo
from .openai_chat import OpenAIChatDialect

__all__ = ["DIALECT", "AlephAlphaDialect"]


class AlephAlphaDialect(OpenAIChatDialect):
    """Adapter for Aleph Alpha chat: openai_chat with Aleph Alpha's errors."""

    name = "aleph_alpha"

    def error_info(self, status: int, data: Any) -> ErrorInfo:
        info = super().error_info(status, data)
        if status == 402:
            info.code = "insufficient_quota"
            info.message = f"{info.message} (Aleph Alpha credits are used up: top them up, retrying will not help)"
        return info


DIALECT = AlephAlphaDialect()
