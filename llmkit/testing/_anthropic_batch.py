"""Emulated Anthropic Message Batches under `/anthropic`: `/v1/messages/batches[/{id}[/cancel|/results]]`.

Strict like Anthropic: the body is exactly `{"requests": [{"custom_id", "params"}]}`, custom ids
match `^[a-zA-Z0-9_-]{1,64}$` and are unique, and `params` must not stream. Each request runs
through the emulator's own Messages logic, so a bad item is `errored` with the error a direct
call would get, while the batch itself is accepted. A batch ends on the N-th status poll, N =
`emu.batch_polls` (default 1); a canceled batch ends with its items `canceled`. Results are JSONL
and only served once the batch has ended. `GET /v1/messages/batches` lists them most recent
first, paged by `after_id` / `before_id` with `limit` 1-1000 (default 20).
"""

from __future__ import annotations

import itertools
import json
import re
import weakref
from typing import TYPE_CHECKING, Any

import attrs

from ._openai_batch import batch_polls
from ._server import Emulator, EmuRequest, EmuResponse

if TYPE_CHECKING:
    from ._anthropic_emu import AnthropicHandler

__all__ = ["BATCH_PREFIX", "handle_batch"]

BATCH_PREFIX = "/v1/messages/batches"
_IDS = itertools.count(1)
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_CREATED = "2026-01-01T00:00:00Z"
_EXPIRES = "2026-01-02T00:00:00Z"


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@attrs.define
class _Batch:
    raw: dict[str, Any]
    requests: list[dict[str, Any]]
    results: list[dict[str, Any]] = attrs.field(factory=list)
    polls: int = 0


_STATES: weakref.WeakKeyDictionary[Emulator, dict[str, _Batch]] = weakref.WeakKeyDictionary()


def _batches(emu: Emulator) -> dict[str, _Batch]:
    st = _STATES.get(emu)
    if st is None:
        st = _STATES[emu] = {}
    return st


def handle_batch(req: EmuRequest, emu: Emulator, h: AnthropicHandler) -> EmuResponse:
    try:
        return _route(req, emu, h)
    except _Reject as exc:
        return h.error(exc.status, exc.message)


def _route(req: EmuRequest, emu: Emulator, h: AnthropicHandler) -> EmuResponse:
    st = _batches(emu)
    rest = req.subpath[len(BATCH_PREFIX) :].strip("/")
    parts = rest.split("/") if rest else []
    if not parts and req.method == "POST":
        return _create(req, st)
    if not parts and req.method == "GET":
        return EmuResponse.json(_list(req.query, st))
    if not parts:
        raise _Reject(404, "Not found")
    b = st.get(parts[0])
    if b is None:
        raise _Reject(404, f"message_batch: {parts[0]} not found")
    if len(parts) == 1 and req.method == "GET":
        b.polls += 1
        if b.raw["processing_status"] == "in_progress" and b.polls >= batch_polls(emu):
            _end(b, emu, h, canceled=False)
        elif b.raw["processing_status"] == "canceling":
            _end(b, emu, h, canceled=True)
        return EmuResponse.json(b.raw)
    if parts[1:] == ["cancel"] and req.method == "POST":
        if b.raw["processing_status"] == "in_progress":
            b.raw["processing_status"] = "canceling"
            b.raw["cancel_initiated_at"] = _CREATED
        return EmuResponse.json(b.raw)
    if parts[1:] == ["results"] and req.method == "GET":
        if b.raw["processing_status"] != "ended":
            raise _Reject(400, f"Batch {b.raw['id']} has not ended; results are not yet available")
        body = "".join(json.dumps(r) + "\n" for r in b.results).encode()
        return EmuResponse(status=200, headers={"content-type": "application/binary"}, body=body)
    raise _Reject(404, "Not found")


def _create(req: EmuRequest, st: dict[str, _Batch]) -> EmuResponse:
    try:
        data = req.json()
    except ValueError as exc:
        raise _Reject(400, "invalid JSON in request body") from exc
    if not isinstance(data, dict):
        raise _Reject(400, "request body must be an object")
    for field in data:
        if field != "requests":
            raise _Reject(400, f"{field}: Extra inputs are not permitted")
    requests = data.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _Reject(400, "requests: Field required (a non-empty list)")
    seen: set[str] = set()
    for i, r in enumerate(requests):
        if not isinstance(r, dict):
            raise _Reject(400, f"requests.{i}: Input should be an object")
        for field in r:
            if field not in ("custom_id", "params"):
                raise _Reject(400, f"requests.{i}.{field}: Extra inputs are not permitted")
        cid = r.get("custom_id")
        if not isinstance(cid, str) or not _CUSTOM_ID.match(cid):
            raise _Reject(400, f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if cid in seen:
            raise _Reject(400, f"requests.{i}.custom_id: duplicate custom_id {cid!r}")
        seen.add(cid)
        params = r.get("params")
        if not isinstance(params, dict):
            raise _Reject(400, f"requests.{i}.params: Field required")
        if params.get("stream"):
            raise _Reject(400, f"requests.{i}.params.stream: streaming is not supported in batches")
    bid = f"msgbatch_emu{next(_IDS):06d}"
    raw: dict[str, Any] = {
        "id": bid,
        "type": "message_batch",
        "processing_status": "in_progress",
        "request_counts": {"processing": len(requests), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
        "ended_at": None,
        "created_at": _CREATED,
        "expires_at": _EXPIRES,
        "archived_at": None,
        "cancel_initiated_at": None,
        "results_url": None,
    }
    st[bid] = _Batch(raw=raw, requests=requests)
    return EmuResponse.json(raw)


def _list(query: dict[str, str], st: dict[str, _Batch]) -> dict[str, Any]:
    """`GET /v1/messages/batches`: most recently created first, `limit` 1-1000 (default 20), a
    page immediately after `after_id` or immediately before `before_id`."""
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        raise _Reject(400, "limit: Input should be a valid integer") from None
    if limit < 1:
        raise _Reject(400, "limit: Input should be greater than or equal to 1")
    if limit > 1000:
        raise _Reject(400, "limit: Input should be less than or equal to 1000")
    if "after_id" in query and "before_id" in query:
        raise _Reject(400, "Only one of before_id and after_id may be given")
    rows = [b.raw for b in reversed(st.values())]
    ids = [r["id"] for r in rows]
    for key in ("after_id", "before_id"):
        if key in query and query[key] not in ids:
            raise _Reject(400, f"{key}: unknown message batch id {query[key]!r}")
    if "before_id" in query:
        end = ids.index(query["before_id"])
        start = max(end - limit, 0)
        page, more = rows[start:end], start > 0
    else:
        start = ids.index(query["after_id"]) + 1 if "after_id" in query else 0
        page, more = rows[start : start + limit], start + limit < len(rows)
    return {
        "data": page,
        "has_more": more,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
    }


def _end(b: _Batch, emu: Emulator, h: AnthropicHandler, *, canceled: bool) -> None:
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    for r in b.requests:
        if canceled:
            result: dict[str, Any] = {"type": "canceled"}
        else:
            result = _run_one(r["params"], emu, h)
        counts[result["type"]] += 1
        b.results.append({"custom_id": r["custom_id"], "result": result})
    b.raw["request_counts"] = counts
    b.raw["processing_status"] = "ended"
    b.raw["ended_at"] = _CREATED
    b.raw["results_url"] = f"https://api.anthropic.com{BATCH_PREFIX}/{b.raw['id']}/results"


def _run_one(params: dict[str, Any], emu: Emulator, h: AnthropicHandler) -> dict[str, Any]:
    sub = EmuRequest(
        method="POST",
        path=h.prefix + "/v1/messages",
        query={},
        headers={
            "content-type": "application/json",
            "anthropic-version": "2023-06-01",
            "x-api-key": emu.require_key or emu.api_key,
        },
        body=json.dumps(params).encode(),
        provider=h.provider,
        subpath="/v1/messages",
    )
    resp = h.handle(sub, emu)
    body = json.loads(resp.body)
    if resp.status < 400:
        return {"type": "succeeded", "message": body}
    body.pop("request_id", None)
    return {"type": "errored", "error": body}
