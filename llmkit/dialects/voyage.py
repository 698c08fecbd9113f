"""The voyage dialect: Voyage AI (embeddings and rerank) has no chat; errors come as `{"detail": ...}`.

Its embeddings, rerank and audio calls live in `llmkit.modalities.voyage`.
"""

from __future__ import annotations

from ._nonchat import NonChatDialect

__all__ = ["DIALECT"]

DIALECT = NonChatDialect("voyage")
