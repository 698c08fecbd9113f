"""The deepgram dialect: Deepgram has no chat; its audio calls live in
`llmkit.modalities.deepgram`.

Errors come in three shapes: the legacy `{"err_code", "err_msg", "request_id"}`, the modern
`{"category", "message", "details", "request_id"}`, or plain text.
"""

from __future__ import annotations

import json
from typing import Any

from ._base import ErrorInfo
from ._nonchat import NonChatDialect

__all__ = ["DIALECT", "DeepgramDialect"]


class DeepgramDialect(NonChatDialect):
    def error_info(self, status: int, data: Any) -> ErrorInfo:
        if isinstance(data, dict):
            if isinstance(data.get("err_msg"), str):
                return ErrorInfo(message=data["err_msg"], code=_str(data.get("err_code")))
            if isinstance(data.get("message"), str):
                details = data.get("details")
                message = data["message"] + (f" ({details})" if isinstance(details, str) and details else "")
                return ErrorInfo(message=message, code=_str(data.get("category")))
        return ErrorInfo(message=json.dumps(data, ensure_ascii=False)[:500])


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


DIALECT = DeepgramDialect("deepgram")
