"""The jina dialect: Jina AI (embeddings and rerank) has no chat; errors come as `{"detail": ...}`.

Its embeddings, rerank and audio calls live in `llmkit.modalities.jina`.
"""

from __future__ import annotations

from ._nonchat import NonChatDialect

__all__ = ["DIALECT"]

DIALECT = NonChatDialect("jina")
