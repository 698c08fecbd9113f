"""Event hooks: see every call as it happens (logging, metrics, tracing, auditing).

    client = llmkit.Client(hooks={"after_response": [log_it]})

    @client.on("on_retry")
    def note(event: llmkit.HookEvent) -> None: ...

`before_request` fires before each HTTP attempt, `on_retry` when an attempt failed and another
follows (with the wait), `after_response` once per answered call (also for cache hits, with
`cached=True`), `on_error` once per failed call. An AsyncClient awaits hooks that are coroutine
functions. A hook that raises fails the call: hooks are part of the caller's code.

Every call a client makes fires them, not only chat: `event.kind` says which (`"chat"`,
`"embed"`, `"rerank"`, `"transcribe"`, `"speak"`, `"generate_image"`, `"count_tokens"`,
`"list_models"`, `"batches"`, `"context_caches"`, `"native"`), `event.operation` names the
spec operation of the request (None where it is not known), and a call beyond chat hands
its answer over in `result` (`response` stays the ChatResponse of a chat call, so chat-only
hooks keep working).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, get_args

import attrs

from ._errors import ConfigError
from ._types import ChatResponse

__all__ = ["HOOK_NAMES", "HookEvent", "HookName", "Hooks"]

HookName = Literal["before_request", "after_response", "on_retry", "on_error"]
HOOK_NAMES: tuple[str, ...] = get_args(HookName)
Hook = Callable[["HookEvent"], Any]


@attrs.frozen(kw_only=True)
class HookEvent:
    """What a hook is told. `model` is `provider/model` (just `provider` for a call that names no
    model, such as `list_models`); `body` is the JSON request body (it never holds a key: keys
    travel in headers, which hooks are not given). `kind` is the client call (`"chat"`,
    `"embed"`, ...); `result` is the answer of a call beyond chat (an EmbeddingResponse,
    Transcription, ..., or the raw httpx.Response of a native or management request)."""

    name: HookName
    provider: str
    model: str
    attempt: int = 0
    body: Any = attrs.field(default=None, repr=False)
    response: ChatResponse | None = None
    error: BaseException | None = None
    wait: float | None = None  # on_retry: seconds until the next attempt
    elapsed: float | None = None  # after_response / on_error: seconds since the call began
    cached: bool = False
    stream: bool = False
    kind: str = "chat"
    operation: str | None = None  # the spec operation sent (e.g. "embeddings", "pull")
    result: Any = attrs.field(default=None, repr=False)


class Hooks:
    """The registered hooks of one Client."""

    def __init__(self, hooks: Mapping[str, Hook | Sequence[Hook]] | None = None) -> None:
        self._hooks: dict[str, list[Hook]] = {name: [] for name in HOOK_NAMES}
        if hooks is not None:
            if not isinstance(hooks, Mapping):
                raise ConfigError(f"hooks must be a dict: {{event name: callable or list}}; events: {HOOK_NAMES}")
            for name, fns in hooks.items():
                for fn in [fns] if callable(fns) else list(fns):
                    self.add(name, fn)

    def add(self, name: str, fn: Hook) -> Hook:
        if name not in self._hooks:
            raise ConfigError(f"unknown hook {name!r}; hooks are {', '.join(HOOK_NAMES)}")
        if not callable(fn):
            raise ConfigError(f"hook {name!r} must be callable, got {type(fn).__name__}")
        self._hooks[name].append(fn)
        return fn

    def remove(self, name: str, fn: Hook) -> None:
        self._hooks[name].remove(fn)

    def wants(self, name: str) -> bool:
        return bool(self._hooks[name])

    def emit(self, event: HookEvent) -> None:
        for fn in self._hooks[event.name]:
            out = fn(event)
            if inspect.isawaitable(out):
                close = getattr(out, "close", None)
                if close is not None:
                    close()
                raise ConfigError(f"hook {event.name!r} is async; async hooks need an AsyncClient")

    async def aemit(self, event: HookEvent) -> None:
        for fn in self._hooks[event.name]:
            out = fn(event)
            if inspect.isawaitable(out):
                await out
