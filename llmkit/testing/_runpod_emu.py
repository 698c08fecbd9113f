"""Emulated RunPod Serverless endpoint under `/runpod/v2/<ENDPOINT_ID>`, with the job lifecycle.

Needs `Authorization: Bearer <key>` or the raw key (RunPod accepts both), else 401
`Unauthorized`. The queue operations: `POST /run` queues a job (`IN_QUEUE`); `POST /runsync`
answers it `COMPLETED` at once when the emulated handler is quick, or still `IN_QUEUE` when
`latency(emu, polls)` says it needs that many `GET /status/{id}` polls (`IN_PROGRESS` in
between; `polls=-1`: never finishes, so a client has to `POST /cancel/{id}` -> `CANCELLED`).
`GET /stream/{id}` hands out the handler's chunks one per poll (JSON, not SSE) and says
`COMPLETED` with the last one. An input with `"fail": true` ends `FAILED` with an `error`
string; `POST /retry/{id}` requeues a failed job. The handler is the worker-vllm one: input
`{"prompt": ...}` -> output `[{"choices": [{"tokens": [...]}], "usage": {"input", "output"}}]`.
Bad bodies and unknown jobs are 400/404 `{"error": "..."}`.

The worker-vllm OpenAI route (`/openai/v1/chat/completions`, `/openai/v1/models`) is the
OpenAI-compatible emulation with vLLM's habits, serving any model name.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

import attrs

from .._registry import provider_spec
from ._brain import Conversation, chunks, plan
from ._compat_emu import CompatHandler
from ._compat_profiles import PROFILES
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["ENDPOINT_ID", "HANDLER", "RunPodHandler", "latency"]

ENDPOINT_ID = "vllm-emu4f2k9q"
_IDS = itertools.count(1)
_OPENAI = "/openai/v1"


class _State:
    def __init__(self) -> None:
        self.polls = 0  # polls the next jobs need; -1: never finish
        self.jobs: dict[str, dict[str, Any]] = {}
        self.remaining: dict[str, int] = {}
        self.pieces: dict[str, list[str]] = {}


_STATES: weakref.WeakKeyDictionary[Emulator, _State] = weakref.WeakKeyDictionary()


def _state(emu: Emulator) -> _State:
    st = _STATES.get(emu)
    if st is None:
        st = _STATES[emu] = _State()
    return st


def latency(emu: Emulator, polls: int) -> None:
    """Make this emulator's next jobs need `polls` status polls to finish (-1: never)."""
    _state(emu).polls = polls


class _OpenAIRoute(CompatHandler):
    """worker-vllm's OpenAI route: the compatible emulation with vLLM's profile, any model."""

    def __init__(self) -> None:
        self.provider = "runpod"
        self.profile = PROFILES["vllm"]
        self.spec = provider_spec("runpod")
        self.prefix = f"/runpod/v2/{ENDPOINT_ID}{_OPENAI}"
        self.chat_path = "/chat/completions"

    def _auth(self, req: EmuRequest, emu: Emulator) -> EmuResponse | None:
        return None  # checked by RunPodHandler before it delegates


class RunPodHandler:
    provider = "runpod"
    prefix = f"/runpod/v2/{ENDPOINT_ID}"

    def __init__(self) -> None:
        self._openai: _OpenAIRoute | None = None

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        if status == 401:
            return EmuResponse(status=401, headers={"content-type": "text/plain"}, body=b"Unauthorized")
        return EmuResponse.json({"error": message}, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        value = req.headers.get("authorization", "")
        key = value.removeprefix("Bearer ")
        if not key or (emu.require_key is not None and key != emu.require_key):
            return self.error(401, "Unauthorized")
        if req.subpath.startswith(_OPENAI + "/"):
            if self._openai is None:
                self._openai = _OpenAIRoute()
            inner = attrs.evolve(req, subpath=req.subpath[len(_OPENAI) :])
            return self._openai.handle(inner, emu)
        st = _state(emu)
        sub, method = req.subpath, req.method
        if method == "POST" and sub in ("/run", "/runsync"):
            return self._submit(req, st, sync=sub == "/runsync")
        if method == "GET" and sub == "/health":
            return EmuResponse.json(self._health(st))
        if method == "POST" and sub == "/purge-queue":
            queued = [j for j in st.jobs.values() if j["status"] == "IN_QUEUE"]
            for waiting in queued:
                waiting["status"] = "CANCELLED"
            return EmuResponse.json({"removed": len(queued), "status": "completed"})
        action, _, job_id = sub.lstrip("/").partition("/")
        job = st.jobs.get(job_id)
        if action not in ("status", "stream", "cancel", "retry") or "/" in job_id:
            return self.error(404, f"Not found: {method} {sub}")
        if job is None:
            return self.error(404, f"job {job_id} not found")
        if method == "GET" and action == "status":
            self._advance(st, job)
            return EmuResponse.json(_public(job))
        if method == "GET" and action == "stream":
            return EmuResponse.json(self._stream(st, job))
        if method == "POST" and action == "cancel":
            if job["status"] not in ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"):
                job["status"] = "CANCELLED"
            return EmuResponse.json({"id": job["id"], "status": job["status"]})
        if method == "POST" and action == "retry":
            if job["status"] not in ("FAILED", "TIMED_OUT"):
                return self.error(400, f"job {job_id} is {job['status']}: only FAILED or TIMED_OUT jobs can be retried")
            job.pop("error", None)
            job["status"] = "IN_QUEUE"
            job["retries"] = job.get("retries", 0) + 1
            job["_fail"] = False
            st.remaining[job_id] = 1
            return EmuResponse.json({"id": job["id"], "status": "IN_QUEUE"})
        return self.error(404, f"Not found: {method} {sub}")

    def _submit(self, req: EmuRequest, st: _State, *, sync: bool) -> EmuResponse:
        try:
            data = req.json()
        except ValueError:
            return self.error(400, "request body is not valid JSON")
        if not isinstance(data, dict) or not isinstance(data.get("input"), dict):
            return self.error(400, "the request body must be an object with an 'input' object")
        unknown = sorted(set(data) - {"input", "webhook", "policy", "s3Config"})
        if unknown:
            return self.error(400, f"unknown field {unknown[0]!r}")
        inp = data["input"]
        prefix = "sync-" if sync else ""
        job_id = f"{prefix}eaebd6e7-6b2c-4c1e-9b0c-{next(_IDS):012d}"
        prompt = inp.get("prompt")
        text = plan(Conversation(last_user_text=str(prompt), all_text=str(prompt))).text if prompt else "ok"
        st.pieces[job_id] = chunks(text)
        job: dict[str, Any] = {"id": job_id, "status": "IN_QUEUE", "_fail": bool(inp.get("fail")), "_text": text}
        st.jobs[job_id] = job
        st.remaining[job_id] = st.polls
        if sync and st.polls == 0:
            self._finish(job)
        return EmuResponse.json(_public(job))

    def _finish(self, job: dict[str, Any]) -> None:
        if job["_fail"]:
            job.update(status="FAILED", error="handler raised: emulated failure", delayTime=12, executionTime=30)
            return
        text = job["_text"]
        usage = {"input": 3, "output": len(chunks(text))}
        job.update(
            status="COMPLETED",
            delayTime=824,
            executionTime=3391,
            workerId="emu-worker-1",
            output=[{"choices": [{"tokens": [text]}], "usage": usage}],
        )

    def _advance(self, st: _State, job: dict[str, Any]) -> None:
        if job["status"] not in ("IN_QUEUE", "IN_PROGRESS"):
            return
        left = st.remaining[job["id"]]
        if left == -1 or left > 1:
            st.remaining[job["id"]] = left if left == -1 else left - 1
            job["status"] = "IN_PROGRESS"
            return
        self._finish(job)

    def _stream(self, st: _State, job: dict[str, Any]) -> dict[str, Any]:
        pieces = st.pieces[job["id"]]
        if job["status"] in ("CANCELLED", "FAILED", "TIMED_OUT"):
            return {"id": job["id"], "status": job["status"], "stream": []}
        piece = [{"output": {"text": [pieces.pop(0)]}}] if pieces else []
        if not pieces:
            self._finish(job)
            return {"id": job["id"], "status": job["status"], "stream": piece}
        job["status"] = "IN_PROGRESS"
        return {"id": job["id"], "status": "IN_PROGRESS", "stream": piece}

    def _health(self, st: _State) -> dict[str, Any]:
        count = {
            s: sum(1 for j in st.jobs.values() if j["status"] == s)
            for s in ("COMPLETED", "FAILED", "IN_PROGRESS", "IN_QUEUE")
        }
        return {
            "jobs": {
                "completed": count["COMPLETED"],
                "failed": count["FAILED"],
                "inProgress": count["IN_PROGRESS"],
                "inQueue": count["IN_QUEUE"],
                "retried": sum(j.get("retries", 0) for j in st.jobs.values()),
            },
            "workers": {"idle": 1, "running": count["IN_PROGRESS"]},
        }


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if not k.startswith("_")}


HANDLER = RunPodHandler()
