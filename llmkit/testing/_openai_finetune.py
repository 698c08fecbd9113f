"""Emulated OpenAI fine-tuning under `/openai/v1`: `/fine_tuning/jobs` (create, list,
retrieve, cancel, pause, resume, events, checkpoints), file listing and deletion, and the
fine-tuned models the jobs make (listed, retrieved, deleted, and usable in chat).

Strict like OpenAI (wire-facts-more.md §10): unknown request fields are a 400; the model must
be one OpenAI fine-tunes; `training_file` (and `validation_file`) must be an uploaded file with
purpose `fine-tune`, else 400 in OpenAI's error shape. An upload with purpose `fine-tune` must
be JSONL of objects. A job moves one state per retrieve: `validating_files` -> `queued` ->
`running` -> `succeeded`, logging events on the way; at success `fine_tuned_model` is
`ft:<model>:emu-org:<suffix>:<id>`, one checkpoint per epoch is saved, and both work as chat
models here until deleted. A training file whose lines do not fit the method (chat
`messages` for supervised, `input`/`preferred_output`/`non_preferred_output` for dpo) makes
the job fail during validation, as OpenAI's does. Lists are newest first with an `after` cursor.
"""

from __future__ import annotations

import itertools
import json
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import attrs

from .._wire import WireValidationError, structure_strict
from ..generated.wire import openai_chat as wire
from ._brain import count_tokens
from ._server import Emulator, EmuRequest, EmuResponse

if TYPE_CHECKING:
    from ._openai_emu import OpenAIHandler

__all__ = ["FINETUNABLE", "check_upload", "finetuned_models", "handle_finetune"]

FINETUNABLE = frozenset(
    {
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-mini",
        "gpt-4o-2024-08-06",
        "gpt-4.1-2025-04-14",
        "gpt-4.1-mini-2025-04-14",
        "gpt-4.1-nano-2025-04-14",
        "o4-mini-2025-04-16",
        "babbage-002",
        "davinci-002",
        "gpt-3.5-turbo",
    }
)
_REINFORCEMENT = frozenset({"o4-mini-2025-04-16"})
_STEPS = ("validating_files", "queued", "running", "succeeded")
_TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
_IDS = itertools.count(1)
_CREATED = 1767225600
_ORG = "emu-org"
_AUTO = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8}


@attrs.define
class _Job:
    raw: dict[str, Any]
    lines: list[dict[str, Any]]
    suffix: str = ""
    events: list[dict[str, Any]] = attrs.field(factory=list)
    checkpoints: list[dict[str, Any]] = attrs.field(factory=list)


@attrs.define
class _State:
    jobs: dict[str, _Job] = attrs.field(factory=dict)
    models: dict[str, dict[str, Any]] = attrs.field(factory=dict)  # fine-tuned id -> model object


_STATES: weakref.WeakKeyDictionary[Emulator, _State] = weakref.WeakKeyDictionary()


def _state(emu: Emulator) -> _State:
    st = _STATES.get(emu)
    if st is None:
        st = _STATES[emu] = _State()
    return st


def finetuned_models(emu: Emulator) -> dict[str, dict[str, Any]]:
    """The fine-tuned models (and checkpoints) the emulated jobs made and nobody deleted."""
    return _state(emu).models


def check_upload(content: bytes) -> str | None:
    """Why a `fine-tune` upload is refused (not JSONL of objects), or None."""
    try:
        _jsonl(content)
    except ValueError as exc:
        return f"Invalid file format for Fine-Tuning API: {exc}"
    return None


def _jsonl(content: bytes) -> list[dict[str, Any]]:
    out = []
    for n, text in enumerate(content.decode("utf-8", errors="strict").splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            raise ValueError(f"line {n} is not JSON") from None
        if not isinstance(line, dict):
            raise ValueError(f"line {n} is not a JSON object")
        out.append(line)
    if not out:
        raise ValueError("the file has no examples")
    return out


def handle_finetune(req: EmuRequest, emu: Emulator, h: OpenAIHandler) -> EmuResponse | None:
    """Answer a fine-tuning, file-list, file-delete or fine-tuned-model request; None for others."""
    from ._openai_batch import file_store

    parts = req.subpath.strip("/").split("/")
    st = _state(emu)
    files = file_store(emu)
    if parts == ["files"] and req.method == "GET":
        rows = sorted((m for m, _ in files.values()), key=lambda m: m["id"], reverse=req.query.get("order") != "asc")
        purpose = req.query.get("purpose")
        rows = [m for m in rows if purpose is None or m["purpose"] == purpose]
        page, more = _page(rows, req.query.get("after"), req.query.get("limit"), 10_000)
        first, last = (page[0]["id"], page[-1]["id"]) if page else (None, None)
        return EmuResponse.json({"object": "list", "data": page, "first_id": first, "last_id": last, "has_more": more})
    if len(parts) == 2 and parts[0] == "files" and req.method == "DELETE":
        if files.pop(parts[1], None) is None:
            return h.error(404, f"No such File object: {parts[1]}", param="id")
        return EmuResponse.json({"id": parts[1], "object": "file", "deleted": True})
    if len(parts) == 2 and parts[0] == "models" and req.method in ("GET", "DELETE"):
        return _model(req, st, h, unquote(parts[1]))
    if parts[:2] != ["fine_tuning", "jobs"]:
        return None
    if len(parts) == 2:
        if req.method == "POST":
            return _create(req, st, files, h)
        if req.method == "GET":
            jobs = [j.raw for j in reversed(st.jobs.values()) if _metadata_match(j.raw, req.query)]
            page, more = _page(jobs, req.query.get("after"), req.query.get("limit"), 20)
            return EmuResponse.json({"object": "list", "data": page, "has_more": more})
        return h.error(405, f"Method {req.method} not allowed for {req.path}")
    job = st.jobs.get(parts[2])
    if job is None:
        return h.error(404, f"Could not find fine-tune job: {parts[2]}", param="fine_tuning_job_id")
    action = parts[3] if len(parts) == 4 else ""
    if action == "" and req.method == "GET":
        _advance(job, st)
        return EmuResponse.json(job.raw)
    if action in ("cancel", "pause", "resume") and req.method == "POST":
        return _control(job, action, h)
    if action in ("events", "checkpoints") and req.method == "GET":
        rows = list(reversed(job.events)) if action == "events" else list(reversed(job.checkpoints))
        page, more = _page(rows, req.query.get("after"), req.query.get("limit"), 20 if action == "events" else 10)
        body: dict[str, Any] = {"object": "list", "data": page, "has_more": more}
        if action == "checkpoints":
            body.update(first_id=page[0]["id"] if page else None, last_id=page[-1]["id"] if page else None)
        return EmuResponse.json(body)
    return h.error(404, f"Invalid URL ({req.method} {req.path})")


def _page(rows: list[dict[str, Any]], after: str | None, limit: str | None, default: int) -> tuple[list[Any], bool]:
    start = 0
    if after:
        ids = [r["id"] for r in rows]
        start = ids.index(after) + 1 if after in ids else len(rows)
    n = int(limit) if limit and limit.isdigit() and int(limit) > 0 else default
    return rows[start : start + n], start + n < len(rows)


def _metadata_match(raw: dict[str, Any], query: dict[str, str]) -> bool:
    wanted = {k[len("metadata[") : -1]: v for k, v in query.items() if k.startswith("metadata[") and k.endswith("]")}
    meta = raw.get("metadata") or {}
    return all(meta.get(k) == v for k, v in wanted.items())


def _model(req: EmuRequest, st: _State, h: OpenAIHandler, mid: str) -> EmuResponse | None:
    if not mid.startswith("ft:"):
        if req.method == "DELETE":
            return h.error(403, "You have insufficient permissions for this operation.", param="model")
        return None  # base models are the chat handler's
    if mid not in st.models:
        return h.error(404, f"The model '{mid}' does not exist", param="model")
    if req.method == "DELETE":
        del st.models[mid]
        return EmuResponse.json({"id": mid, "object": "model", "deleted": True})
    return EmuResponse.json(st.models[mid])


def _bad(h: OpenAIHandler, message: str, param: str | None, code: str | None = None) -> EmuResponse:
    resp = h.error(400, message, param=param)
    if code is not None:
        body = json.loads(resp.body)
        body["error"]["code"] = code
        resp.body = json.dumps(body).encode()
    return resp


def _create(req: EmuRequest, st: _State, files: dict[str, Any], h: OpenAIHandler) -> EmuResponse:
    try:
        data = req.json()
    except ValueError:
        return _bad(h, "We could not parse the JSON body of your request.", None)
    if not isinstance(data, dict):
        return _bad(h, "The request body must be a JSON object.", None)
    try:
        body = structure_strict(data, wire.CreateFineTuningJobRequest)
    except WireValidationError as exc:
        if exc.reason.startswith("unknown field"):
            field = exc.reason.split("'")[1]
            return _bad(h, f"Unrecognized request argument supplied: {field}", field)
        return _bad(h, f"Invalid request: {exc.reason}", None)
    if body.model not in FINETUNABLE:
        return _bad(h, f"Model {body.model} is not available for fine-tuning or does not exist.", "model")
    for param in ("training_file", "validation_file"):
        fid = getattr(body, param)
        if fid is None:
            continue
        f = files.get(fid)
        if f is None:
            return _bad(h, f"invalid {param}: {fid}", param, "invalid_file_id")
        if f[0]["purpose"] != "fine-tune":
            return _bad(h, f"File {fid} has purpose '{f[0]['purpose']}'; fine-tuning needs purpose 'fine-tune'.", param)
    if body.suffix is not None and not 1 <= len(body.suffix) <= 64:
        return _bad(h, "suffix must be between 1 and 64 characters.", "suffix")
    method = data.get("method") or {"type": "supervised", "supervised": {"hyperparameters": {}}}
    kind = method.get("type")
    if kind not in ("supervised", "dpo", "reinforcement"):
        return _bad(h, f"Invalid value for 'method.type': {kind!r}.", "method.type")
    if (kind == "reinforcement") != (body.model in _REINFORCEMENT):
        return _bad(h, f"Model {body.model} does not support the {kind} method.", "method.type")
    hyper = dict((method.get(kind) or {}).get("hyperparameters") or data.get("hyperparameters") or {})
    jid = f"ftjob-emu{next(_IDS):06d}"
    raw: dict[str, Any] = {
        "object": "fine_tuning.job",
        "id": jid,
        "model": body.model,
        "created_at": _CREATED,
        "finished_at": None,
        "fine_tuned_model": None,
        "organization_id": _ORG,
        "result_files": [],
        "status": "validating_files",
        "validation_file": body.validation_file,
        "training_file": body.training_file,
        "hyperparameters": {k: hyper.get(k, "auto") for k in _AUTO},
        "trained_tokens": None,
        "error": None,
        "seed": body.seed if body.seed is not None else 42,
        "estimated_finish": None,
        "integrations": data.get("integrations") or [],
        "method": {"type": kind, kind: {"hyperparameters": {k: hyper.get(k, "auto") for k in _AUTO}}},
        "metadata": data.get("metadata"),
    }
    job = _Job(raw=raw, lines=_jsonl(files[body.training_file][1]), suffix=body.suffix or "")
    _event(job, f"Validating training file: {body.training_file}")
    st.jobs[jid] = job
    return EmuResponse.json(raw)


def _event(job: _Job, message: str, level: str = "info", data: dict[str, Any] | None = None) -> None:
    job.events.append(
        {
            "object": "fine_tuning.job.event",
            "id": f"ftevent-emu{next(_IDS):06d}",
            "created_at": _CREATED + len(job.events),
            "level": level,
            "message": message,
            "data": data or {},
            "type": "metrics" if data else "message",
        }
    )


def _fits(lines: list[dict[str, Any]], kind: str) -> str | None:
    need = {"supervised": ("messages",), "dpo": ("input", "preferred_output", "non_preferred_output")}
    for n, line in enumerate(lines, 1):
        missing = [k for k in need.get(kind, ("messages",)) if k not in line]
        if missing:
            return f"Example {n} is missing {missing[0]!r}, which the {kind} method needs."
    return None


def _advance(job: _Job, st: _State) -> None:
    """One step along validating_files -> queued -> running -> succeeded (or failed)."""
    raw = job.raw
    if raw["status"] not in _STEPS[:-1]:
        return
    kind = raw["method"]["type"]
    if raw["status"] == "validating_files":
        problem = _fits(job.lines, kind)
        if problem is not None:
            raw.update(status="failed", finished_at=_CREATED + 60)
            raw["error"] = {"code": "invalid_training_file", "message": problem, "param": "training_file"}
            _event(job, f"Training file validation failed: {problem}", level="error")
            return
        _event(job, "Files validated, moving job to queued state")
    elif raw["status"] == "queued":
        resolved = {k: (v if v != "auto" else _AUTO[k]) for k, v in raw["hyperparameters"].items()}
        raw["hyperparameters"] = resolved
        raw["method"][kind]["hyperparameters"] = dict(resolved)
        _event(job, f"Fine-tuning job started: {kind}")
    elif raw["status"] == "running":
        _succeed(job, st)
    raw["status"] = _STEPS[_STEPS.index(raw["status"]) + 1]


def _succeed(job: _Job, st: _State) -> None:
    raw = job.raw
    hp = raw["hyperparameters"]
    epochs, batch = int(hp["n_epochs"]), int(hp["batch_size"])
    steps = max(1, len(job.lines) // batch)
    model = f"ft:{raw['model']}:{_ORG}:{job.suffix}:{raw['id'][-8:]}"
    for epoch in range(1, epochs + 1):
        step = epoch * steps
        loss = round(1.5 / (epoch + 1), 4)
        _event(job, f"Step {step}/{epochs * steps}: training loss={loss}", data={"step": step, "train_loss": loss})
        ckpt = f"{model}:ckpt-step-{step}"
        job.checkpoints.append(
            {
                "object": "fine_tuning.job.checkpoint",
                "id": f"ftckpt_emu{next(_IDS):06d}",
                "created_at": _CREATED + step,
                "fine_tuned_model_checkpoint": ckpt,
                "fine_tuning_job_id": raw["id"],
                "metrics": {"step": float(step), "train_loss": loss, "train_mean_token_accuracy": 0.9},
                "step_number": step,
            }
        )
        if epoch < epochs:
            st.models[ckpt] = {"id": ckpt, "object": "model", "created": _CREATED + step, "owned_by": _ORG}
    st.models[model] = {"id": model, "object": "model", "created": _CREATED + 3600, "owned_by": _ORG}
    tokens = sum(count_tokens(json.dumps(line)) for line in job.lines) * epochs
    raw.update(fine_tuned_model=model, finished_at=_CREATED + 3600, trained_tokens=tokens)
    raw["result_files"] = [f"file-emu-result-{raw['id'][-6:]}"]
    _event(job, f"New fine-tuned model created: {model}")
    _event(job, "The job has successfully completed")


def _control(job: _Job, action: str, h: OpenAIHandler) -> EmuResponse:
    raw = job.raw
    status = raw["status"]
    if action == "cancel":
        if status in _TERMINAL:
            return _bad(h, f"Job {raw['id']} has already {status}; it cannot be cancelled.", None)
        raw.update(status="cancelled", finished_at=_CREATED + 120)
        _event(job, "Fine-tuning job cancelled")
    elif action == "pause":
        if status != "running":
            return _bad(h, f"Only a running job can be paused; this one is {status}.", None)
        raw["status"] = "paused"
        _event(job, "Fine-tuning job paused")
    else:
        if status != "paused":
            return _bad(h, f"Only a paused job can be resumed; this one is {status}.", None)
        raw["status"] = "running"
        _event(job, "Fine-tuning job resumed")
    return EmuResponse.json(raw)
