"""Emulated NLP Cloud under `/nlpcloud/v1`, as strict as api.nlpcloud.io.

`POST /gpu/{model}/chatbot` ({input, context, history}) and `/gpu/{model}/generation`, with
`Authorization: Token <key>` (a Bearer header is refused, as NLP Cloud does). Unknown fields,
models and tasks are refused with `{"detail": ...}`.
"""

from __future__ import annotations

import re

from .._wire import WireValidationError, structure_strict
from ..generated.wire import nlpcloud as wire
from ._brain import Conversation, count_tokens, plan
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "NLPCloudHandler"]

_ROUTE = re.compile(r"^/gpu/([^/]+)/(chatbot|generation)$")


def _models() -> set[str]:
    from ..generated.catalog import MODELS

    return {m.id for m in MODELS if m.provider == "nlpcloud"}


class NLPCloudHandler:
    provider = "nlpcloud"
    prefix = "/nlpcloud/v1"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        return EmuResponse.json({"detail": message}, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Token ") or not auth[6:] or emu.require_key not in (None, auth[6:]):
            return self.error(401, "Invalid token.")
        m = _ROUTE.match(req.subpath)
        if m is None or req.method != "POST":
            return self.error(404, "Not found.")
        model, task = m.group(1), m.group(2)
        if model not in _models():
            return self.error(404, f"Model {model} does not exist.")
        try:
            if task == "chatbot":
                body = structure_strict(req.json(), wire.NLPCloudChatbotRequest)
            else:
                gen = structure_strict(req.json(), wire.NLPCloudGenerationRequest)
        except (ValueError, WireValidationError) as exc:
            return self.error(422, f"Invalid request: {exc}")
        if task == "generation":
            p = plan(Conversation(last_user_text=gen.text, all_text=gen.text, max_tokens=gen.max_length))
            return EmuResponse.json(
                {
                    "generated_text": p.text,
                    "nb_generated_tokens": p.output_tokens,
                    "nb_input_tokens": count_tokens(gen.text),
                }
            )
        history = [{"input": h.input, "response": h.response} for h in body.history or []]
        text = " ".join([body.context or "", *(h["input"] for h in history), body.input])
        p = plan(Conversation(last_user_text=body.input, all_text=text))
        return EmuResponse.json({"response": p.text, "history": [*history, {"input": body.input, "response": p.text}]})


HANDLER = NLPCloudHandler()
