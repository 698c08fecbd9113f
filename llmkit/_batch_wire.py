"""The two batch protocols `client.batches` speaks, as request steps, and what they answer.

OpenAI takes a batch as an uploaded JSONL file (`/files`, then `/batches`); Anthropic takes the
requests inline (`/v1/messages/batches`). Each protocol step is a generator that yields the
requests it needs and receives each response (`llmkit._batches` sends them through the
client's orchestration), so the same steps serve the sync and the async client. Operation paths
come from the provider's spec; a spec without an operation is refused before any request.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
import httpx

from ._errors import ConfigError, LLMKitError, UnsupportedFeatureError
from ._transport import decode_json
from .dialects._base import CallContext, WireRequest, expand_path
from .modalities._base import ModalRequest

if TYPE_CHECKING:
    from ._spec import ProviderSpec
    from ._transport import AsyncProviderTransport, ProviderTransport
    from ._types import ChatRequest
    from .dialects._base import Dialect

__all__ = [
    "PROTOCOLS",
    "BatchItem",
    "BatchItemError",
    "BatchPage",
    "BatchProtocol",
    "BatchStatus",
    "Steps",
    "split_item",
]

T = Any
# A protocol step: yields the requests it needs, receives each response, returns its result.
Steps = Generator[ModalRequest, httpx.Response, T]

State = Literal["in_progress", "canceling", "completed", "canceled", "expired", "failed"]
_DONE_STATES = ("completed", "canceled", "expired", "failed")
# OpenAI's batch statuses, mapped onto llmkit's.
_OPENAI_STATES: dict[str, State] = {
    "validating": "in_progress",
    "in_progress": "in_progress",
    "finalizing": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "expired": "expired",
    "cancelling": "canceling",
    "cancelled": "canceled",
}
# Anthropic's error types, mapped to the HTTP status the same error has on a direct request.
_ANTHROPIC_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class BatchItemError(LLMKitError):
    """An item of a batch that has no answer: `reason` is `canceled`, `expired`, `errored`
    (the provider's own error, without an HTTP status) or `missing` (absent from the results)."""

    def __init__(self, message: str, *, custom_id: str, reason: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.custom_id = custom_id
        self.reason = reason


@attrs.define(kw_only=True, slots=True)
class BatchStatus:
    """Where a batch is. `done` counts the items already answered (succeeded or failed)."""

    id: str
    state: State
    total: int
    done: int
    succeeded: int
    failed: int
    raw: dict[str, Any] = attrs.field(repr=False)

    @property
    def finished(self) -> bool:
        return self.state in _DONE_STATES


@attrs.define(kw_only=True, slots=True)
class BatchPage:
    """One page of `client.batches.list`: the account's batches, newest first, as statuses.
    While `has_more`, pass `last_id` as `after=` for the next (older) page."""

    provider: str
    batches: list[BatchStatus]
    has_more: bool
    first_id: str | None
    last_id: str | None
    raw: dict[str, Any] = attrs.field(repr=False)

    def __iter__(self) -> Iterator[BatchStatus]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


@attrs.define(kw_only=True, slots=True)
class BatchItem:
    custom_id: str
    dialect: Dialect
    ctx: CallContext
    req: ChatRequest


def split_item(item: Any, params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    if isinstance(item, Mapping) and "messages" in item:
        own = dict(item)
        messages = own.pop("messages")
        return messages, {**params, **own}
    return item, dict(params)


def _jsonl(lines: Sequence[Mapping[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines).encode()


def _parse_jsonl(content: bytes, provider: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, line in enumerate(content.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise LLMKitError(
                f"{provider} batch results line {n} is not JSON: {line[:200]!r}", provider=provider
            ) from exc
        if not isinstance(obj, dict):
            raise LLMKitError(f"{provider} batch results line {n} is not a JSON object", provider=provider)
        out.append(obj)
    return out


def _json_of(resp: httpx.Response, provider: str) -> dict[str, Any]:
    data = decode_json(resp, provider)
    if not isinstance(data, dict):
        raise LLMKitError(f"{provider} answered with JSON that is not an object", provider=provider)
    return data


def _int(v: Any) -> int:
    return v if isinstance(v, int) else 0


class BatchProtocol:
    """One provider family's batch endpoints (chosen by dialect, enabled by the spec)."""

    def __init__(self, provider: str, spec: ProviderSpec, t: ProviderTransport | AsyncProviderTransport) -> None:
        self.provider = provider
        self.spec = spec
        self.t = t

    def _path(self, op_name: str, **params: str) -> tuple[str, str]:
        op = self.spec.operation(op_name)
        if op is None:
            raise UnsupportedFeatureError(
                f"{self.provider} does not support batches: its spec declares no `{op_name}` operation",
                provider=self.provider,
            )
        return op.method, expand_path(op.path, **params)

    def _req(
        self, op_name: str, body: Any = None, query: Mapping[str, str] | None = None, **params: str
    ) -> ModalRequest:
        method, path = self._path(op_name, **params)
        wire = WireRequest(method=method, path=path, body=body, query=dict(query or {}), operation=op_name)
        return ModalRequest(wire=wire)

    def item_error(self, custom_id: str, status: int, body: Any) -> LLMKitError:
        err: LLMKitError = self.t.error_from_response(status, httpx.Headers(), json.dumps(body).encode())
        return err

    def check(self) -> None:
        raise NotImplementedError

    def create(self, items: list[BatchItem], bodies: list[Any]) -> Steps:
        raise NotImplementedError

    def retrieve(self, batch_id: str) -> Steps:
        raise NotImplementedError

    def cancel(self, batch_id: str) -> Steps:
        raise NotImplementedError

    def status(self, raw: dict[str, Any]) -> BatchStatus:
        raise NotImplementedError

    # The listing: its operation, its cursor names (after, before; None: not offered), its
    # largest page.
    list_op = ""
    cursors: tuple[str, str | None] = ("after", None)
    max_limit = 100

    def list(self, limit: int | None, after: str | None, before: str | None) -> Steps:
        """One page of the account's batches (checked before any request)."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise ConfigError(f"batches.list limit must be an integer, got {limit!r}")
        if limit is not None and not 1 <= limit <= self.max_limit:
            raise ConfigError(f"{self.provider} lists 1 to {self.max_limit} batches per page, got limit={limit}")
        after_name, before_name = self.cursors
        if before is not None and before_name is None:
            raise UnsupportedFeatureError(
                f"{self.provider} pages its batches forward only: use after=, not before=", provider=self.provider
            )
        if after is not None and before is not None:
            raise ConfigError("batches.list takes after= or before=, not both")
        for name, cursor in (("after", after), ("before", before)):
            if cursor is not None and (not isinstance(cursor, str) or not cursor):
                raise ConfigError(f"batches.list {name} must be a batch id, got {cursor!r}")
        query: dict[str, str] = {}
        if before is not None and before_name is not None:
            query[before_name] = before
        if after is not None:
            query[after_name] = after
        if limit is not None:
            query["limit"] = str(limit)
        req = self._req(self.list_op, query=query)
        return self.page((yield req))

    def page(self, resp: httpx.Response) -> BatchPage:
        raw = _json_of(resp, self.provider)
        data = raw.get("data")
        if not isinstance(data, list) or not all(isinstance(b, dict) for b in data):
            raise LLMKitError(f"{self.provider} answered a batch listing without a `data` list", provider=self.provider)
        first, last = raw.get("first_id"), raw.get("last_id")
        return BatchPage(
            provider=self.provider,
            batches=[self.status(b) for b in data],
            has_more=raw.get("has_more") is True,
            first_id=first if isinstance(first, str) else None,
            last_id=last if isinstance(last, str) else None,
            raw=raw,
        )

    def results(self, raw: dict[str, Any]) -> Steps:
        """custom_id -> (HTTP status, body) of the item's answer, or the item's error."""
        raise NotImplementedError


class _OpenAI(BatchProtocol):
    list_op = "list_batches"

    def check(self) -> None:
        for name in ("create_file", "create_batch", "retrieve_batch", "cancel_batch", "retrieve_file_content"):
            self._path(name, batch_id="x", file_id="x")

    def create(self, items: list[BatchItem], bodies: list[Any]) -> Steps:
        _, chat_path = self._path("create_chat_completion")
        url = "/v1" + chat_path if not chat_path.startswith("/v1/") else chat_path
        lines = [
            {"custom_id": it.custom_id, "method": "POST", "url": url, "body": body}
            for it, body in zip(items, bodies, strict=True)
        ]
        method, path = self._path("create_file")
        upload = ModalRequest(
            wire=WireRequest(method=method, path=path),
            data={"purpose": "batch"},
            files={"file": ("batch.jsonl", _jsonl(lines), "application/jsonl")},
        )
        file_id = _json_of((yield upload), self.provider).get("id")
        if not isinstance(file_id, str):
            raise LLMKitError(f"{self.provider} answered a file upload without an id", provider=self.provider)
        body = {"input_file_id": file_id, "endpoint": url, "completion_window": "24h"}
        return _json_of((yield self._req("create_batch", body)), self.provider)

    def retrieve(self, batch_id: str) -> Steps:
        return _json_of((yield self._req("retrieve_batch", batch_id=batch_id)), self.provider)

    def cancel(self, batch_id: str) -> Steps:
        return _json_of((yield self._req("cancel_batch", batch_id=batch_id)), self.provider)

    def status(self, raw: dict[str, Any]) -> BatchStatus:
        counts = raw.get("request_counts") or {}
        ok, bad = _int(counts.get("completed")), _int(counts.get("failed"))
        return BatchStatus(
            id=str(raw.get("id")),
            state=_OPENAI_STATES.get(str(raw.get("status")), "in_progress"),
            total=_int(counts.get("total")),
            done=ok + bad,
            succeeded=ok,
            failed=bad,
            raw=raw,
        )

    def results(self, raw: dict[str, Any]) -> Steps:
        out: dict[str, tuple[int, Any] | LLMKitError] = {}
        for key in ("output_file_id", "error_file_id"):
            file_id = raw.get(key)
            if not isinstance(file_id, str):
                continue
            content = (yield self._req("retrieve_file_content", file_id=file_id)).content
            for line in _parse_jsonl(content, self.provider):
                cid = str(line.get("custom_id"))
                resp, error = line.get("response"), line.get("error")
                if isinstance(resp, dict) and isinstance(resp.get("status_code"), int):
                    out[cid] = (resp["status_code"], resp.get("body"))
                elif isinstance(error, dict):
                    out[cid] = BatchItemError(
                        f"{self.provider} batch item {cid} failed: {error.get('message', error)}",
                        custom_id=cid,
                        reason="errored",
                        provider=self.provider,
                    )
        return out


class _Anthropic(BatchProtocol):
    list_op = "list_message_batches"
    cursors = ("after_id", "before_id")
    max_limit = 1000

    def check(self) -> None:
        for name in (
            "create_message_batch",
            "retrieve_message_batch",
            "cancel_message_batch",
            "retrieve_message_batch_results",
        ):
            self._path(name, batch_id="x")

    def create(self, items: list[BatchItem], bodies: list[Any]) -> Steps:
        requests = [{"custom_id": it.custom_id, "params": body} for it, body in zip(items, bodies, strict=True)]
        return _json_of((yield self._req("create_message_batch", {"requests": requests})), self.provider)

    def retrieve(self, batch_id: str) -> Steps:
        return _json_of((yield self._req("retrieve_message_batch", batch_id=batch_id)), self.provider)

    def cancel(self, batch_id: str) -> Steps:
        return _json_of((yield self._req("cancel_message_batch", batch_id=batch_id)), self.provider)

    def status(self, raw: dict[str, Any]) -> BatchStatus:
        c = raw.get("request_counts") or {}
        ok = _int(c.get("succeeded"))
        bad = _int(c.get("errored")) + _int(c.get("canceled")) + _int(c.get("expired"))
        ps = raw.get("processing_status")
        state: State = "in_progress"
        if ps == "canceling":
            state = "canceling"
        elif ps == "ended":
            state = "canceled" if raw.get("cancel_initiated_at") else "completed"
        return BatchStatus(
            id=str(raw.get("id")),
            state=state,
            total=ok + bad + _int(c.get("processing")),
            done=ok + bad,
            succeeded=ok,
            failed=bad,
            raw=raw,
        )

    def results(self, raw: dict[str, Any]) -> Steps:
        content = (yield self._req("retrieve_message_batch_results", batch_id=str(raw.get("id")))).content
        out: dict[str, tuple[int, Any] | LLMKitError] = {}
        for line in _parse_jsonl(content, self.provider):
            cid = str(line.get("custom_id"))
            result = line.get("result") or {}
            kind = result.get("type")
            if kind == "succeeded":
                out[cid] = (200, result.get("message"))
            elif kind == "errored":
                err = result.get("error") or {}
                nested = err.get("error")
                inner: dict[str, Any] = nested if isinstance(nested, dict) else err
                status = _ANTHROPIC_STATUS.get(str(inner.get("type")), 500)
                body = err if "error" in err else {"type": "error", "error": err}
                out[cid] = (status, body)
            else:
                out[cid] = BatchItemError(
                    f"{self.provider} batch item {cid} was {kind}",
                    custom_id=cid,
                    reason=str(kind),
                    provider=self.provider,
                )
        return out


PROTOCOLS: dict[str, type[BatchProtocol]] = {"openai_chat": _OpenAI, "anthropic_messages": _Anthropic}
