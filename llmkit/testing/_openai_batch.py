"""Emulated OpenAI Files and Batches under `/openai/v1`: `/files`, `/files/{id}/content`, `/batches`.

Strict like OpenAI: a batch upload must be multipart with `purpose=batch` and a `file` part of
JSONL lines `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}` with unique
custom ids; a batch must name an uploaded batch file, `endpoint: /v1/chat/completions` and
`completion_window: 24h`. Each line runs through the emulator's own chat completions (so a bad
item fails alone, with the error chat would answer). A batch completes on the N-th status poll,
N = `emu.batch_polls` (default 1: the first `GET /batches/{id}` finds it completed), so tests
need no sleeping; a cancel makes it `cancelling`, and the next poll finds it `cancelled` with no items answered.
`GET /batches` lists them newest first, paged by `after` with `limit` 1-100 (default 20).
"""

from __future__ import annotations

import itertools
import json
import weakref
from typing import TYPE_CHECKING, Any

import attrs

from ._media_emu import MultipartError, parse_multipart
from ._server import Emulator, EmuRequest, EmuResponse

if TYPE_CHECKING:
    from ._openai_emu import OpenAIHandler

__all__ = ["BATCH_PATHS", "batch_polls", "file_store", "handle_batch"]

BATCH_PATHS = ("/files", "/batches")
_IDS = itertools.count(1)
_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
_CREATED = 1767225600


@attrs.define
class _Batch:
    raw: dict[str, Any]
    lines: list[dict[str, Any]]
    polls: int = 0


@attrs.define
class _State:
    files: dict[str, tuple[dict[str, Any], bytes]] = attrs.field(factory=dict)
    batches: dict[str, _Batch] = attrs.field(factory=dict)


_STATES: weakref.WeakKeyDictionary[Emulator, _State] = weakref.WeakKeyDictionary()


def batch_polls(emu: Emulator) -> int:
    """How many status polls a batch takes to complete on this emulator (`emu.batch_polls`)."""
    n = getattr(emu, "batch_polls", 1)
    return n if isinstance(n, int) and n >= 1 else 1


def _state(emu: Emulator) -> _State:
    st = _STATES.get(emu)
    if st is None:
        st = _STATES[emu] = _State()
    return st


def file_store(emu: Emulator) -> dict[str, tuple[dict[str, Any], bytes]]:
    """This emulator's uploaded files: id -> (file object, content)."""
    return _state(emu).files


def handle_batch(req: EmuRequest, emu: Emulator, h: OpenAIHandler) -> EmuResponse:
    st = _state(emu)
    parts = req.subpath.strip("/").split("/")
    if parts == ["files"] and req.method == "POST":
        return _upload(req, st, h)
    if len(parts) == 3 and parts[0] == "files" and parts[2] == "content" and req.method == "GET":
        f = st.files.get(parts[1])
        if f is None:
            return h.error(404, f"No such File object: {parts[1]}", param="id")
        return EmuResponse(status=200, headers={"content-type": "application/octet-stream"}, body=f[1])
    if len(parts) == 2 and parts[0] == "files" and req.method == "GET":
        f = st.files.get(parts[1])
        return EmuResponse.json(f[0]) if f else h.error(404, f"No such File object: {parts[1]}", param="id")
    if parts == ["batches"] and req.method == "POST":
        return _create(req, emu, st, h)
    if parts == ["batches"] and req.method == "GET":
        return _list(req, st, h)
    if len(parts) >= 2 and parts[0] == "batches":
        b = st.batches.get(parts[1])
        if b is None:
            return h.error(404, f"No batch found with id '{parts[1]}'.")
        if len(parts) == 2 and req.method == "GET":
            b.polls += 1
            if b.raw["status"] == "in_progress" and b.polls >= batch_polls(emu):
                _run(b, emu, st, h, len(b.lines))
                b.raw["status"] = "completed"
            elif b.raw["status"] == "cancelling":
                # Items answered before the cancel keep their answers: the emulator answered none.
                _run(b, emu, st, h, 0)
                b.raw["status"] = "cancelled"
            return EmuResponse.json(b.raw)
        if len(parts) == 3 and parts[2] == "cancel" and req.method == "POST":
            if b.raw["status"] in ("completed", "failed", "expired", "cancelled", "cancelling"):
                return h.error(400, f"Cannot cancel a batch with status '{b.raw['status']}'.")
            if b.raw["status"] == "in_progress":
                b.raw["status"] = "cancelling"
            return EmuResponse.json(b.raw)
    return h.error(404, f"Invalid URL ({req.method} {req.path})")


def _upload(req: EmuRequest, st: _State, h: OpenAIHandler) -> EmuResponse:
    try:
        form = parse_multipart(req.headers.get("content-type", ""), req.body)
    except MultipartError as exc:
        return h.error(400, str(exc))
    unknown = set(form.fields) - {"purpose"} or set(form.files) - {"file"}
    if unknown:
        return h.error(400, f"Unrecognized request argument supplied: {sorted(unknown)[0]}")
    purpose = form.one("purpose")
    if purpose is None:
        return h.error(400, "Missing required parameter: 'purpose'.", param="purpose")
    if "file" not in form.files:
        return h.error(400, "Missing required parameter: 'file'.", param="file")
    if purpose not in _PURPOSES:
        return h.error(400, f"Invalid value for 'purpose': {purpose!r}.", param="purpose")
    filename, _, content = form.files["file"]
    if purpose == "fine-tune":
        from ._openai_finetune import check_upload

        problem = check_upload(content)
        if problem is not None:
            return h.error(400, problem, param="file")
    if purpose == "batch":
        try:
            _lines(content)
        except ValueError as exc:
            return h.error(400, f"Invalid batch input file: {exc}", param="file")
    fid = f"file-emu{next(_IDS):06d}"
    meta = {
        "id": fid,
        "object": "file",
        "bytes": len(content),
        "created_at": _CREATED,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }
    st.files[fid] = (meta, content)
    return EmuResponse.json(meta)


def _lines(content: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, text in enumerate(content.decode("utf-8").splitlines(), 1):
        if not text.strip():
            continue
        line = json.loads(text)
        if not isinstance(line, dict) or set(line) != {"custom_id", "method", "url", "body"}:
            raise ValueError(f"line {n} must have exactly custom_id, method, url and body")
        if line["method"] != "POST" or line["url"] != "/v1/chat/completions":
            raise ValueError(f"line {n}: only POST /v1/chat/completions is emulated")
        if not isinstance(line["custom_id"], str) or line["custom_id"] in seen:
            raise ValueError(f"line {n}: custom_id must be a unique string")
        seen.add(line["custom_id"])
        out.append(line)
    if not out:
        raise ValueError("the file has no requests")
    return out


def _create(req: EmuRequest, emu: Emulator, st: _State, h: OpenAIHandler) -> EmuResponse:
    try:
        data = req.json()
    except ValueError:
        return h.error(400, "We could not parse the JSON body of your request.")
    if not isinstance(data, dict):
        return h.error(400, "The request body must be a JSON object.")
    allowed = {"input_file_id", "endpoint", "completion_window", "metadata"}
    for field in data:
        if field not in allowed:
            return h.error(400, f"Unrecognized request argument supplied: {field}", param=field)
    for field in ("input_file_id", "endpoint", "completion_window"):
        if not isinstance(data.get(field), str):
            return h.error(400, f"Missing required parameter: '{field}'.", param=field)
    if data["endpoint"] != "/v1/chat/completions":
        return h.error(400, f"Invalid value for 'endpoint': {data['endpoint']!r}.", param="endpoint")
    if data["completion_window"] != "24h":
        return h.error(400, "Invalid value for 'completion_window': only '24h' is supported.")
    f = st.files.get(data["input_file_id"])
    if f is None:
        return h.error(404, f"No such File object: {data['input_file_id']}", param="input_file_id")
    if f[0]["purpose"] != "batch":
        return h.error(400, "The input file must be uploaded with purpose 'batch'.", param="input_file_id")
    lines = _lines(f[1])
    bid = f"batch_emu{next(_IDS):06d}"
    raw: dict[str, Any] = {
        "id": bid,
        "object": "batch",
        "endpoint": data["endpoint"],
        "errors": None,
        "input_file_id": data["input_file_id"],
        "completion_window": "24h",
        "status": "in_progress",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": _CREATED,
        "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
        "metadata": data.get("metadata"),
    }
    st.batches[bid] = _Batch(raw=raw, lines=lines)
    return EmuResponse.json(raw)


def _list(req: EmuRequest, st: _State, h: OpenAIHandler) -> EmuResponse:
    """`GET /batches?after=&limit=`: newest first; `limit` an integer 1-100 (default 20)."""
    raw_limit = req.query.get("limit", "20")
    try:
        limit = int(raw_limit)
    except ValueError:
        return h.error(400, f"Invalid 'limit': expected an integer, but got {raw_limit!r} instead.", param="limit")
    if limit < 1:
        return h.error(
            400, f"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {limit} instead.",
            param="limit",
        )  # fmt: skip
    if limit > 100:
        return h.error(
            400, f"Invalid 'limit': integer above maximum value. Expected a value <= 100, but got {limit} instead.",
            param="limit",
        )  # fmt: skip
    rows = [b.raw for b in reversed(st.batches.values())]
    start = 0
    after = req.query.get("after")
    if after is not None:
        ids = [r["id"] for r in rows]
        start = ids.index(after) + 1 if after in ids else len(rows)
    page = rows[start : start + limit]
    first, last = (page[0]["id"], page[-1]["id"]) if page else (None, None)
    body = {"object": "list", "data": page, "first_id": first, "last_id": last, "has_more": start + limit < len(rows)}
    return EmuResponse.json(body)


def _run(b: _Batch, emu: Emulator, st: _State, h: OpenAIHandler, how_many: int) -> None:
    """Answer the first `how_many` lines through the chat handler; write the output files."""
    out: list[str] = []
    errs: list[str] = []
    for n, line in enumerate(b.lines[:how_many]):
        body = json.dumps(line["body"]).encode()
        sub = EmuRequest(
            method="POST",
            path=h.prefix + "/chat/completions",
            query={},
            headers={"content-type": "application/json"},
            body=body,
            provider=h.provider,
            subpath="/chat/completions",
        )
        resp = h._chat(sub)
        record = {
            "id": f"batch_req_emu{n:06d}",
            "custom_id": line["custom_id"],
            "response": {
                "status_code": resp.status,
                "request_id": resp.headers.get("x-request-id", "req_emu"),
                "body": json.loads(resp.body),
            },
            "error": None,
        }
        (out if resp.status < 400 else errs).append(json.dumps(record) + "\n")
    counts = b.raw["request_counts"]
    counts["completed"], counts["failed"] = len(out), len(errs)
    for key, rows in (("output_file_id", out), ("error_file_id", errs)):
        if rows:
            fid = f"file-emu{next(_IDS):06d}"
            content = "".join(rows).encode()
            meta = {
                "id": fid,
                "object": "file",
                "bytes": len(content),
                "created_at": _CREATED,
                "filename": f"{b.raw['id']}_{key[:-8]}.jsonl",
                "purpose": "batch_output",
            }
            st.files[fid] = (meta, content)
            b.raw[key] = fid
