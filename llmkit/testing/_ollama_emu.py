"""Emulated Ollama server under `/ollama` (paths `/api/...`), behaving like a local Ollama.

Like the real server it needs no key, ignores JSON fields it does not know (it is Go), and
streams by default: a chat or pull without `"stream": false` answers NDJSON
(`application/x-ndjson`), one object per line, the chat's last line `done: true` with
`done_reason`, `prompt_eval_count`, `eval_count` and nanosecond durations. A tool call comes
whole in one `done: false` line with `arguments` as an object. Errors are `{"error": "..."}`:
404 for a model that is not pulled ("try pulling it first"), 400 for a bad body, and a failed
pull is an error LINE under HTTP 200, as Ollama sends it.

Model state lives per Emulator: the catalog's Ollama models start pulled; `pull` adds what the
emulated registry knows (the catalog's models), `copy` adds a name, `delete` removes one, and
a chat loads its model for `ps`.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from typing import Any

import attrs

from .._wire import WireValidationError, structure
from ..generated.wire import ollama as wire
from ._brain import Conversation, Plan, chunks, count_tokens, plan
from ._media_emu import vector
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "OllamaHandler"]

CREATED_AT = "2025-07-07T20:22:19.19314Z"  # fixed: the emulator is deterministic
VERSION = "0.12.6"
_NDJSON = {"content-type": "application/x-ndjson"}
# Vector sizes of the catalog's embedding models (model cards, recalled).
_EMBED_DIMS = {"nomic-embed-text": 768, "mxbai-embed-large": 1024, "all-minilm": 384}


class _State:
    """One emulator's local models (name:tag -> family) and the ones loaded in memory."""

    def __init__(self) -> None:
        self.models: dict[str, str] = {name: fam for name, fam in _registry().items()}
        self.loaded: list[str] = []


_STATES: weakref.WeakKeyDictionary[Emulator, _State] = weakref.WeakKeyDictionary()


def _tagged(name: str) -> str:
    return name if ":" in name.rpartition("/")[2] else f"{name}:latest"


def _registry() -> dict[str, str]:
    """What `pull` can fetch: the catalog's Ollama models and aliases, by their tagged name."""
    from ..generated.catalog import MODELS

    out: dict[str, str] = {}
    for m in MODELS:
        if m.provider == "ollama":
            for name in (m.id, *m.aliases):
                out[_tagged(name)] = m.id.split(":")[0]
    return out


def _state(emu: Emulator) -> _State:
    st = _STATES.get(emu)
    if st is None:
        st = _STATES[emu] = _State()
    return st


def _digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class OllamaHandler:
    provider = "ollama"
    prefix = "/ollama"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        """Ollama's error body: `{"error": "<message>"}`, the error a string."""
        return EmuResponse.json({"error": message}, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        routes = {
            ("POST", "/api/chat"): self._chat,
            ("POST", "/api/embed"): self._embed,
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/ps"): self._ps,
            ("POST", "/api/show"): self._show,
            ("POST", "/api/pull"): self._pull,
            ("POST", "/api/copy"): self._copy,
            ("DELETE", "/api/delete"): self._delete,
        }
        if (req.method, req.subpath) == ("GET", "/api/version"):
            return EmuResponse.json({"version": VERSION})
        if req.subpath in ("", "/") and req.method == "GET":
            return EmuResponse(headers={"content-type": "text/plain; charset=utf-8"}, body=b"Ollama is running")
        route = routes.get((req.method, req.subpath))
        if route is None:
            return EmuResponse(status=404, headers={"content-type": "text/plain"}, body=b"404 page not found")
        try:
            return route(req, _state(emu))
        except _Reject as r:
            return self.error(r.status, r.message)

    # -- chat --------------------------------------------------------------------------------
    def _chat(self, req: EmuRequest, st: _State) -> EmuResponse:
        body: wire.ChatRequest = _body(req, wire.ChatRequest)
        name = _need_model(st, body.model)
        if name not in st.loaded:
            st.loaded.append(name)
        conv = _conversation(body)
        p = plan(conv)
        if p.truncated:
            reason = "length"
        else:
            reason = "stop"  # also after tool calls: Ollama has no "tool_calls" reason
        final = {
            "model": body.model,
            "created_at": CREATED_AT,
            "done": True,
            "done_reason": reason,
            "total_duration": 182242375,
            "load_duration": 41295167,
            "prompt_eval_count": p.input_tokens,
            "prompt_eval_duration": 24573166,
            "eval_count": p.output_tokens,
            "eval_duration": 115959084,
        }
        if body.stream is False:
            msg: dict[str, Any] = {"role": "assistant", "content": p.text}
            if p.reasoning:
                msg["thinking"] = p.reasoning
            if p.tool_calls:
                msg["tool_calls"] = _calls(p)
            return EmuResponse.json({"model": body.model, "created_at": CREATED_AT, "message": msg, **final})
        lines = (
            [
                _line(body.model, {"role": "assistant", "content": "", "thinking": piece})
                for piece in chunks(p.reasoning)
            ]
            if p.reasoning
            else []
        )
        if p.tool_calls:
            lines.append(_line(body.model, {"role": "assistant", "content": "", "tool_calls": _calls(p)}))
        else:
            lines += [_line(body.model, {"role": "assistant", "content": piece}) for piece in chunks(p.text)]
        lines.append({**final, "message": {"role": "assistant", "content": ""}})
        return EmuResponse(headers=dict(_NDJSON), chunks=[(json.dumps(x) + "\n").encode() for x in lines])

    def _embed(self, req: EmuRequest, st: _State) -> EmuResponse:
        """`/api/embed`: only embedding models embed (Ollama answers 400 for a model without the
        capability); with `truncate: false` an input over the context window is a 400."""
        body: wire.EmbedRequest = _body(req, wire.EmbedRequest)
        name = _need_model(st, body.model)
        family = st.models[name]
        if family not in _EMBED_DIMS:
            raise _Reject(400, f'"{body.model}" does not support embeddings')
        texts = [body.input] if isinstance(body.input, str) else list(body.input)
        dims = _EMBED_DIMS[family]
        if body.dimensions is not None:
            if not 1 <= body.dimensions <= dims:
                raise _Reject(400, f"dimensions must be between 1 and {dims}")
            dims = body.dimensions
        counts = [count_tokens(t) for t in texts]
        limit = _context(family)
        if body.truncate is False and any(n > limit for n in counts):
            raise _Reject(400, "input length exceeds the context length")
        if name not in st.loaded:
            st.loaded.append(name)
        return EmuResponse.json(
            {
                "model": body.model,
                "embeddings": [vector(t, dims) for t in texts],
                "total_duration": 14143917,
                "load_duration": 1019500,
                "prompt_eval_count": sum(min(n, limit) for n in counts),
            }
        )

    # -- model management --------------------------------------------------------------------
    def _tags(self, req: EmuRequest, st: _State) -> EmuResponse:
        return EmuResponse.json({"models": [_summary(n, f) for n, f in sorted(st.models.items())]})

    def _ps(self, req: EmuRequest, st: _State) -> EmuResponse:
        running = []
        for name in st.loaded:
            if name in st.models:
                running.append(
                    {
                        **_summary(name, st.models[name]),
                        "expires_at": "2025-07-07T20:27:19.19314Z",
                        "size_vram": 2019393189,
                        "context_length": 4096,
                    }
                )
                running[-1].pop("modified_at")
        return EmuResponse.json({"models": running})

    def _show(self, req: EmuRequest, st: _State) -> EmuResponse:
        body: wire.ShowRequest = _body(req, wire.ShowRequest)
        name = _need_model(st, body.model, show=True)
        family = st.models[name]
        return EmuResponse.json(
            {
                "modelfile": f"FROM {name}\n",
                "parameters": 'num_ctx 4096\nstop "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": _details(family),
                "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
                "capabilities": ["embedding"] if family in _EMBED_DIMS else ["completion", "tools"],
                "modified_at": CREATED_AT,
            }
        )

    def _pull(self, req: EmuRequest, st: _State) -> EmuResponse:
        body: wire.PullRequest = _body(req, wire.PullRequest, legacy_name=True)
        name = _tagged(body.model)
        family = _registry().get(name)
        if family is None:
            failure = {"error": "pull model manifest: file does not exist"}
            if body.stream is False:
                return EmuResponse.json(failure, 500)
            lines: list[dict[str, Any]] = [{"status": "pulling manifest"}, failure]
            return EmuResponse(headers=dict(_NDJSON), chunks=[(json.dumps(x) + "\n").encode() for x in lines])
        st.models[name] = family
        if body.stream is False:
            return EmuResponse.json({"status": "success"})
        digest = _digest(name)
        total = 2019377376
        lines = [{"status": "pulling manifest"}]
        for done in (0, total // 2, total):
            line: dict[str, Any] = {"status": f"pulling {digest[7:19]}", "digest": digest, "total": total}
            if done:
                line["completed"] = done  # zero fields are omitted, as Ollama does
            lines.append(line)
        lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
        return EmuResponse(headers=dict(_NDJSON), chunks=[(json.dumps(x) + "\n").encode() for x in lines])

    def _copy(self, req: EmuRequest, st: _State) -> EmuResponse:
        body: wire.CopyRequest = _body(req, wire.CopyRequest)
        src = _tagged(body.source)
        if src not in st.models:
            raise _Reject(404, f"model '{body.source}' not found")
        st.models[_tagged(body.destination)] = st.models[src]
        return EmuResponse(status=200, headers={"content-length": "0"})

    def _delete(self, req: EmuRequest, st: _State) -> EmuResponse:
        body: wire.DeleteRequest = _body(req, wire.DeleteRequest, legacy_name=True)
        name = _tagged(body.model)
        if st.models.pop(name, None) is None:
            raise _Reject(404, f"model '{body.model}' not found")
        if name in st.loaded:
            st.loaded.remove(name)
        return EmuResponse(status=200)


def _body(req: EmuRequest, cls: type[Any], *, legacy_name: bool = False) -> Any:
    """The JSON body as `cls`: types and required fields checked, unknown keys ignored (Go)."""
    if not req.body:
        raise _Reject(400, "missing request body")
    try:
        data = req.json()
    except ValueError:
        raise _Reject(400, "invalid character in request body") from None
    if not isinstance(data, dict):
        raise _Reject(400, "json: cannot unmarshal into Go value of type api.Request")
    if legacy_name and "model" not in data and isinstance(data.get("name"), str):
        data["model"] = data["name"]  # the legacy key is still accepted
    required = {a.metadata.get("llmkit.wire") for a in cls.__attrs_attrs__ if a.default is attrs.NOTHING}
    for name in sorted(n for n in required if n):
        if data.get(name) in (None, ""):
            raise _Reject(400, f"{name} is required")
    try:
        return structure(data, cls)
    except WireValidationError as exc:
        raise _Reject(400, f"json: cannot unmarshal request body: {exc.reason}") from None


def _need_model(st: _State, model: str, *, show: bool = False) -> str:
    if not model:
        raise _Reject(400, "model is required")
    name = _tagged(model)
    if name not in st.models:
        if show:
            raise _Reject(404, f"model '{model}' not found")
        raise _Reject(404, f'model "{model}" not found, try pulling it first')
    return name


def _context(family: str) -> int:
    """The catalog's context window of a model family (Ollama's default 2048 when unknown)."""
    from ..generated.catalog import MODELS

    return next((m.context_window or 2048 for m in MODELS if m.provider == "ollama" and m.id == family), 2048)


def _details(family: str) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
    }


def _summary(name: str, family: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": CREATED_AT,
        "size": 2019393189,
        "digest": _digest(name)[7:],
        "details": _details(family),
    }


def _line(model: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "created_at": CREATED_AT, "message": message, "done": False}


def _calls(p: Plan) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{hashlib.sha256(name.encode()).hexdigest()[:8]}",
            "function": {"index": i, "name": name, "arguments": args},
        }
        for i, (name, args) in enumerate(p.tool_calls)
    ]


def _conversation(body: wire.ChatRequest) -> Conversation:
    msgs = body.messages
    conv = Conversation()
    texts = []
    for m in msgs:
        texts.append(m.content or "")
        if m.role == "user":
            conv.last_user_text = m.content or ""
            conv.images += len(m.images or [])
        for im in m.images or []:
            if im.startswith("data:"):
                raise _Reject(400, "illegal base64 data at input byte 4")
    conv.all_text = "\n".join(texts)
    last = msgs[-1] if msgs else None
    if last is not None and last.role == "tool":
        conv.last_is_tool_result = True
        conv.tool_result_text = last.content or ""
    conv.tools = [
        {"name": t.function.name, "parameters": t.function.parameters or {"type": "object"}} for t in body.tools or []
    ]
    if body.format == "json":
        conv.json_object = True
    elif isinstance(body.format, dict):
        conv.json_schema = body.format
    opts = body.options
    if opts is not None and opts.num_predict is not None and opts.num_predict >= 0:
        conv.max_tokens = opts.num_predict
    conv.reasoning = body.think not in (None, False)
    return conv


HANDLER = OllamaHandler()
