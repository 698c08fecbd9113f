"""When a failed model may hand over to the next one (fallback chains and router candidates).

Failures that another model may not share (connection, timeout, 429, 5xx, 529) move on once
the transport's retries are spent. A prompt too long for one model moves on only to a model
with a larger context window. Any other 4xx is the caller's to fix: it is raised as is.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._errors import ConfigError, ConnectionError, ContextLengthError, RateLimitError, ServerError, TimeoutError
from ._registry import model_info, split_model

__all__ = ["FALLBACK_ERRORS", "context_window", "next_model"]

FALLBACK_ERRORS = (ConnectionError, TimeoutError, RateLimitError, ServerError)


def context_window(model: str) -> int | None:
    """The catalog's context window of `provider/model` (a `provider@label` uses its provider's)."""
    try:
        provider, name = split_model(model)
        info = model_info(provider.partition("@")[0], name)
    except ConfigError:
        return None
    return info.context_window if info is not None else None


def next_model(exc: BaseException, models: Sequence[str], i: int) -> int | None:
    """The index of the model to try after `models[i]` failed with `exc`, or None to raise."""
    if isinstance(exc, ContextLengthError):
        current = context_window(models[i])
        if current is None:
            return None
        for j in range(i + 1, len(models)):
            w = context_window(models[j])
            if w is not None and w > current:
                return j
        return None
    if isinstance(exc, FALLBACK_ERRORS) and i + 1 < len(models):
        return i + 1
    return None
