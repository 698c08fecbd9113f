"""Emulated Baseten deployment under `/baseten/environments/production`.

Needs `Authorization: Api-Key <key>` (a Bearer token is refused here: dedicated deployments
take the Api-Key scheme), else 401 `{"error": ...}`. `POST /predict` is a small Truss whose
input is `{"prompt": ...}` and whose output is `{"output": <answer>}`; any other input is a
400 from the model, as a Truss raising would give. `POST /async_predict` takes
`{"model_input", "webhook_endpoint"?}` and answers `{"request_id"}`. The OpenAI-compatible
engine is served under `/sync/v1` (chat completions and models), any model name.
"""

from __future__ import annotations

import itertools

import attrs

from .._registry import provider_spec
from ._brain import Conversation, plan
from ._compat_emu import CompatHandler
from ._compat_profiles import PROFILES
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "BasetenHandler"]

_SYNC = "/sync/v1"
_IDS = itertools.count(1)


class _OpenAIRoute(CompatHandler):
    """The engine behind `/sync/v1`: the compatible emulation with vLLM's habits, any model."""

    def __init__(self) -> None:
        self.provider = "baseten"
        self.profile = PROFILES["vllm"]
        self.spec = provider_spec("baseten")
        self.prefix = BasetenHandler.prefix + _SYNC
        self.chat_path = "/chat/completions"

    def _auth(self, req: EmuRequest, emu: Emulator) -> EmuResponse | None:
        return None  # checked by BasetenHandler before it delegates


class BasetenHandler:
    provider = "baseten"
    prefix = "/baseten/environments/production"

    def __init__(self) -> None:
        self._openai: _OpenAIRoute | None = None

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        return EmuResponse.json({"error": message}, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        scheme, _, key = req.headers.get("authorization", "").partition(" ")
        if scheme != "Api-Key" or not key or (emu.require_key is not None and key != emu.require_key):
            return self.error(401, "Invalid API key: expected the header Authorization: Api-Key <key>")
        if req.subpath.startswith(_SYNC + "/"):
            if self._openai is None:
                self._openai = _OpenAIRoute()
            return self._openai.handle(attrs.evolve(req, subpath=req.subpath[len(_SYNC) :]), emu)
        try:
            data = req.json()
        except ValueError:
            return self.error(400, "request body is not valid JSON")
        if req.method == "POST" and req.subpath == "/predict":
            prompt = data.get("prompt") if isinstance(data, dict) else None
            if not isinstance(prompt, str):
                return self.error(400, "model raised: predict() expects a 'prompt' string")
            return EmuResponse.json({"output": plan(Conversation(last_user_text=prompt, all_text=prompt)).text})
        if req.method == "POST" and req.subpath == "/async_predict":
            if not isinstance(data, dict) or not isinstance(data.get("model_input"), dict):
                return self.error(400, "async_predict needs a 'model_input' object")
            return EmuResponse.json({"request_id": f"9876543210abcdef{next(_IDS):016x}"}, 201)
        return self.error(404, f"Model not found: no route {req.method} {req.subpath}")


HANDLER = BasetenHandler()
