"""The fal dialect: fal.ai (image and media models) has no chat; errors come as `{"detail": ...}`.

Its image calls live in `llmkit.modalities.fal`; the queue's submit, status and result
requests are one job flow in `llmkit.overrides.fal`.
"""

from __future__ import annotations

from ._nonchat import NonChatDialect

__all__ = ["DIALECT"]

DIALECT = NonChatDialect("fal")
