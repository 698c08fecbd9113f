"""Emulated Replicate under `/replicate/v1`, with the prediction lifecycle.

Needs `Authorization: Bearer <token>` (or the legacy `Token <token>`), else a 401 problem
detail. `POST /models/{owner}/{name}/predictions` and `POST /predictions` (with `version`)
create a prediction (201): with `Prefer: wait` it is answered finished when the emulated model
is quick; otherwise it starts as `starting` and needs polls. `latency(emu, polls)` makes the
next predictions take that many `GET /predictions/{id}` polls (`processing` in between), or
never finish (`polls=-1`) so a client has to cancel (`POST .../cancel` -> `canceled`). A
prediction created with `"stream": true` carries `urls.stream`; that URL answers SSE
`event: output` events with plain-text data (multi-line tokens as several `data:` lines), then
`event: done` with `{}`. Unknown models are 404 problem details; an input without `prompt` is
422 "Input validation failed", as Replicate answers. Image models (`_replicate_images`) check
their input's types, enums and ranges (422 with `invalid_fields`) and finish with file URLs.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any
from urllib.parse import unquote

from ._brain import Conversation, chunks, plan
from ._replicate_images import IMAGE_MODELS, image_output, validate
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "ReplicateHandler", "latency"]

_IDS = itertools.count(1)
VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


class _State:
    def __init__(self) -> None:
        self.polls = 0  # polls the next predictions need; -1: never finish
        self.predictions: dict[str, dict[str, Any]] = {}
        self.remaining: dict[str, int] = {}
        self.answers: dict[str, str] = {}
        self.images: dict[str, list[str] | str] = {}  # image predictions' file outputs


_STATES: weakref.WeakKeyDictionary[Emulator, _State] = weakref.WeakKeyDictionary()


def _state(emu: Emulator) -> _State:
    st = _STATES.get(emu)
    if st is None:
        st = _STATES[emu] = _State()
    return st


def latency(emu: Emulator, polls: int) -> None:
    """Make this emulator's next predictions need `polls` polls to finish (-1: never)."""
    _state(emu).polls = polls


def _models() -> set[str]:
    from ..generated.catalog import MODELS

    return {m.id for m in MODELS if m.provider == "replicate"}


_WEBHOOK_EVENTS = {"start", "output", "logs", "completed"}


def _webhook_error(data: dict[str, Any]) -> str | None:
    """Replicate's checks on `webhook` (an https URL) and `webhook_events_filter`."""
    hook = data.get("webhook")
    if hook is not None and (not isinstance(hook, str) or not hook.startswith("https://")):
        return "webhook: must be an https URL"
    events = data.get("webhook_events_filter")
    if events is not None:
        if hook is None:
            return "webhook_events_filter: needs a webhook"
        if not isinstance(events, list) or not set(events) <= _WEBHOOK_EVENTS:
            return f"webhook_events_filter: each must be one of {', '.join(sorted(_WEBHOOK_EVENTS))}"
    return None


class ReplicateHandler:
    provider = "replicate"
    prefix = "/replicate/v1"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        """An RFC 7807 problem detail; `kind` is its title."""
        titles = {401: "Unauthenticated", 404: "Not found", 422: "Input validation failed", 429: "Too many requests"}
        title = kind or titles.get(status, "Internal server error")
        body = {
            "type": f"https://replicate.com/docs/errors#{status}",
            "title": title,
            "status": status,
            "detail": message,
        }
        return EmuResponse.json(body, status, {"content-type": "application/problem+json"})

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme not in ("Bearer", "Token") or not token:
            return self.error(401, "You did not pass a valid authentication token")
        if emu.require_key is not None and token != emu.require_key:
            return self.error(401, "You did not pass a valid authentication token")
        st = _state(emu)
        sub = req.subpath
        if req.method == "POST" and sub.startswith("/models/") and sub.endswith("/predictions"):
            model = unquote(sub[len("/models/") : -len("/predictions")])
            return self._create(req, emu, st, model, None)
        if req.method == "POST" and sub == "/predictions":
            data = req.json() or {}
            version = str(data.get("version") or "")
            model = version.partition(":")[0] if "/" in version else "replicate/hello-world"
            return self._create(req, emu, st, model, version)
        if req.method == "GET" and sub == "/predictions":
            return EmuResponse.json(
                {"next": None, "previous": None, "results": [_public(p) for p in reversed(st.predictions.values())]}
            )
        if sub.startswith("/predictions/"):
            rest = sub[len("/predictions/") :]
            pid, _, action = rest.partition("/")
            pred = st.predictions.get(pid)
            if pred is None:
                return self.error(404, "The requested resource could not be found.")
            if req.method == "POST" and action == "cancel":
                if pred["status"] not in ("succeeded", "failed", "canceled"):
                    pred.update(status="canceled", completed_at="2023-09-08T16:19:40.000000Z")
                return EmuResponse.json(_public(pred))
            if req.method == "GET" and action == "":
                self._advance(st, pred)
                return EmuResponse.json(_public(pred))
            if req.method == "GET" and action == "stream":
                return self._stream(st, pred)
        return self.error(404, "The requested resource could not be found.")

    def _create(self, req: EmuRequest, emu: Emulator, st: _State, model: str, version: str | None) -> EmuResponse:
        if model not in _models() and version is None:
            return self.error(404, f"Model {model} not found")
        data = req.json() or {}
        inp = data.get("input")
        if not isinstance(inp, dict) or not isinstance(inp.get("prompt"), str):
            return EmuResponse.json(
                {
                    "detail": "- input: prompt is required",
                    "status": 422,
                    "title": "Input validation failed",
                    "invalid_fields": [{"type": "required", "field": "input", "description": "prompt is required"}],
                },
                422,
            )
        hook_error = _webhook_error(data)
        if hook_error is not None:
            return EmuResponse.json(
                {"detail": f"- {hook_error}", "status": 422, "title": "Input validation failed"}, 422
            )
        if model in IMAGE_MODELS:
            invalid = validate(model, inp)
            if invalid:
                detail = "".join(f"- {f['field']}: {f['description']}\n" for f in invalid)
                return EmuResponse.json(
                    {"detail": detail, "status": 422, "title": "Input validation failed", "invalid_fields": invalid},
                    422,
                )
        pid = f"gm3qorzdhgbfurvjtvhg{next(_IDS):06d}"
        if model in IMAGE_MODELS:
            st.images[pid] = image_output(model, pid, inp)
        conv = Conversation(last_user_text=inp["prompt"].rsplit("User: ", 1)[-1].removesuffix("\nAssistant:"))
        conv.all_text = " ".join(str(v) for v in (inp.get("system_prompt"), inp["prompt"]) if v)
        if isinstance(inp.get("max_tokens"), int):
            conv.max_tokens = inp["max_tokens"]
        p = plan(conv)
        st.answers[pid] = p.text
        base = f"{emu.url}{self.prefix}/predictions/{pid}"
        pred: dict[str, Any] = {
            "id": pid,
            "model": model,
            "version": VERSION,
            "input": inp,
            "logs": "",
            "output": None,
            "error": None,
            "status": "starting",
            "data_removed": False,
            "created_at": "2023-09-08T16:19:34.765994Z",
            "started_at": None,
            "completed_at": None,
            "urls": {"get": base, "cancel": base + "/cancel", "web": f"https://replicate.com/p/{pid}"},
            "_metrics": {"input_token_count": p.input_tokens, "output_token_count": p.output_tokens},
        }
        if data.get("stream"):
            pred["urls"]["stream"] = base + "/stream"
        st.predictions[pid] = pred
        st.remaining[pid] = st.polls
        if st.polls == 0 and "wait" in req.headers.get("prefer", "") and not data.get("stream"):
            self._finish(st, pred)
        return EmuResponse.json(_public(pred), 201)

    def _finish(self, st: _State, pred: dict[str, Any]) -> None:
        if pred["id"] in st.images:
            pred.update(
                status="succeeded",
                output=st.images[pred["id"]],
                started_at="2023-09-08T16:19:34.779176Z",
                completed_at="2023-09-08T16:19:36.102311Z",
                metrics={"predict_time": 1.323135},
            )
            return
        pred.update(
            status="succeeded",
            output=chunks(st.answers[pred["id"]]),
            started_at="2023-09-08T16:19:34.779176Z",
            completed_at="2023-09-08T16:19:34.791859Z",
            metrics={"predict_time": 0.012683, **pred["_metrics"]},
        )

    def _advance(self, st: _State, pred: dict[str, Any]) -> None:
        if pred["status"] in ("succeeded", "failed", "canceled"):
            return
        left = st.remaining[pred["id"]]
        if left == -1:
            pred["status"] = "processing"
            return
        if left <= 1:
            self._finish(st, pred)
        else:
            st.remaining[pred["id"]] = left - 1
            pred["status"] = "processing"

    def _stream(self, st: _State, pred: dict[str, Any]) -> EmuResponse:
        self._finish(st, pred)
        events = []
        for i, piece in enumerate(chunks(st.answers[pred["id"]])):
            data = "\n".join(f"data: {line}" for line in piece.split("\n"))
            events.append(f"event: output\nid: 1690212292:{i}\n{data}\n\n")
        events.append("event: done\ndata: {}\n\n")
        return EmuResponse.sse(events)


def _public(pred: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pred.items() if not k.startswith("_")}


HANDLER = ReplicateHandler()
