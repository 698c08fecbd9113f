"""The elevenlabs dialect: ElevenLabs (text-to-speech and speech-to-text) has no chat; errors come as `{"detail": ...}`.

Its embeddings, rerank and audio calls live in `llmkit.modalities.elevenlabs`.
"""

from __future__ import annotations

from ._nonchat import NonChatDialect

__all__ = ["DIALECT"]

DIALECT = NonChatDialect("elevenlabs")
