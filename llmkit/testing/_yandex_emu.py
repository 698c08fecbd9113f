"""Emulated Yandex Foundation Models under `/yandex` (base_url), as strict as Yandex.

Serves the native API (`/foundationModels/v1/completion`, `completionAsync`,
`tokenizeCompletion`, `textEmbedding`), the operation service (`/operations/{id}`: not done on
the first poll, done with the completion on the next), the OpenAI-compatible
`/v1/chat/completions`, and the IAM endpoint (`/iam/v1/tokens`), which checks a service-account
JWT for real: PS256 with a registered public key (`register_key`), the right audience and a
lifetime of at most an hour. Credentials: `Api-Key <key>` (any, or the emulator's
require_key), or `Bearer` with an IAM token it issued or one registered with
`register_iam_token`; bearer calls need `x-folder-id`, and the folder in a model URI must be
that folder. Streams are NDJSON lines of `{"result": ...}` whose text is CUMULATIVE; errors are
grpc-gateway's `{"error": {grpcCode, httpCode, message, ...}}`.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import threading
import time
import uuid
from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import openai_chat as openai_wire
from ..generated.wire import yandex as wire
from ._brain import Conversation, Plan, chunks, count_tokens, plan
from ._media_emu import vector
from ._openai_emu import _conversation, _response, _stream_events
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["EMBED_DIMS", "EMBED_MAX_TOKENS", "HANDLER", "YandexHandler", "embedding_vector"]

_GRPC = {
    400: (3, "Bad Request"),
    401: (16, "Unauthorized"),
    403: (7, "Forbidden"),
    404: (5, "Not Found"),
    429: (8, "Too Many Requests"),
    500: (13, "Internal Server Error"),
    503: (14, "Service Unavailable"),
}
_URI = re.compile(r"^(gpt|emb)://([^/]+)/([^/]+)(?:/(latest|rc|deprecated))?$")
_CHAT_MODELS = frozenset({"yandexgpt", "yandexgpt-lite", "qwen3-235b-a22b-fp8"})
_EMBED_MODELS = frozenset({"text-search-doc", "text-search-query"})
AUDIENCE = "https://iam.api.cloud.yandex.net/iam/v1/tokens"
_VERSION = "23.10.2024"
EMBED_DIMS = 256  # text-search-doc / text-search-query vectors (recalled)
EMBED_MAX_TOKENS = 2048  # per text (recalled)


def embedding_vector(model: str, text: str, dims: int = EMBED_DIMS) -> list[float]:
    """What the emulated textEmbedding returns for one text with one model."""
    return vector(f"{model}:{text}", dims)


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _rfc3339(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


class YandexHandler:
    provider = "yandex"
    prefix = "/yandex"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.keys: dict[str, tuple[str, bytes]] = {}  # key id -> (service account id, public key PEM)
        self.iam_tokens: set[str] = set()
        self.operations: dict[str, tuple[int, dict[str, Any]]] = {}  # id -> (polls, response)

    def register_key(self, key_id: str, service_account_id: str, public_key_pem: bytes) -> None:
        """Trust a service account's authorized key (what `yc iam key create` does on the server)."""
        with self._lock:
            self.keys[key_id] = (service_account_id, public_key_pem)

    def register_iam_token(self, token: str) -> None:
        with self._lock:
            self.iam_tokens.add(token)

    def revoke_iam_tokens(self) -> None:
        with self._lock:
            self.iam_tokens.clear()

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        grpc, reason = _GRPC.get(status, (2, "Unknown"))
        body = {
            "error": {"grpcCode": grpc, "httpCode": status, "message": message, "httpStatus": reason, "details": []}
        }
        return EmuResponse.json(body, status, {"x-request-id": str(uuid.uuid4())})

    # -- IAM -----------------------------------------------------------------------------------
    def _iam(self, req: EmuRequest) -> EmuResponse:
        data = req.json() if req.body else None
        if not isinstance(data, dict) or set(data) != {"jwt"} or not isinstance(data["jwt"], str):
            return self.error(400, "exactly one of jwt or yandexPassportOauthToken is required")
        reason = self._check_jwt(data["jwt"])
        if reason is not None:
            return self.error(401, reason)
        token = f"t1.emu{uuid.uuid4().hex}.{base64.urlsafe_b64encode(uuid.uuid4().bytes * 4).decode().rstrip('=')}"
        with self._lock:
            self.iam_tokens.add(token)
        return EmuResponse.json({"iamToken": token, "expiresAt": _rfc3339(time.time() + 12 * 3600)})

    def _check_jwt(self, jwt: str) -> str | None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        parts = jwt.split(".")
        if len(parts) != 3:
            return "JWT is malformed"
        try:
            header, claims, signature = json.loads(_b64(parts[0])), json.loads(_b64(parts[1])), _b64(parts[2])
        except ValueError:
            return "JWT is malformed"
        if header.get("alg") != "PS256" or header.get("typ") != "JWT":
            return f"JWT algorithm must be PS256, got {header.get('alg')!r}"
        with self._lock:
            known = self.keys.get(str(header.get("kid")))
        if known is None:
            return "Key not found"
        account, pem = known
        public = serialization.load_pem_public_key(pem)
        assert isinstance(public, rsa.RSAPublicKey)
        try:  # salt length = digest length exactly, as Yandex checks it
            public.verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return "JWT signature is invalid"
        if claims.get("iss") != account or claims.get("aud") != AUDIENCE:
            return "JWT iss or aud is wrong"
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or not 0 < exp - iat <= 3600:
            return "JWT lifetime must be at most one hour"
        return None

    # -- auth ----------------------------------------------------------------------------------
    def _auth(self, req: EmuRequest, emu: Emulator) -> tuple[EmuResponse | None, str | None]:
        auth = req.headers.get("authorization", "")
        if auth.startswith("Api-Key "):
            if auth[8:] and emu.require_key in (None, auth[8:]):
                return None, None
            return self.error(401, "Unknown api key"), None
        if auth.startswith("Bearer "):
            with self._lock:
                valid = auth[7:] in self.iam_tokens
            if not valid:
                return self.error(401, "The token is invalid"), None
            folder = req.headers.get("x-folder-id")
            if not folder:
                return self.error(400, "x-folder-id header is required with an IAM token"), None
            return None, folder
        return self.error(401, "Authorization header is missing or malformed"), None

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        if (req.method, req.subpath) == ("POST", "/iam/v1/tokens"):
            return self._iam(req)
        denied, folder = self._auth(req, emu)
        if denied is not None:
            return denied
        route = (req.method, req.subpath)
        if route == ("POST", "/foundationModels/v1/completion"):
            return self._completion(req, folder, asynchronous=False)
        if route == ("POST", "/foundationModels/v1/completionAsync"):
            return self._completion(req, folder, asynchronous=True)
        if route == ("POST", "/foundationModels/v1/tokenizeCompletion"):
            return self._tokenize(req, folder)
        if route == ("POST", "/foundationModels/v1/textEmbedding"):
            return self._embed(req, folder)
        if route == ("POST", "/v1/chat/completions"):
            return self._openai(req, folder)
        if req.method == "GET" and req.subpath.startswith("/operations/"):
            return self._operation(req.subpath[len("/operations/") :])
        return self.error(404, f"{req.method} {req.subpath} is not a Foundation Models method")

    # -- native --------------------------------------------------------------------------------
    def _model(self, uri: str, folder: str | None, kinds: frozenset[str]) -> EmuResponse | str:
        m = _URI.match(uri)
        if m is None:
            return self.error(400, f"Invalid model uri: {uri}")
        if folder is not None and m.group(2) != folder:
            return self.error(403, f"Permission to [resource-manager.folder {m.group(2)}] denied")
        if m.group(3) not in kinds:
            return self.error(404, f"Model {uri} is not found")
        return m.group(3)

    def _request(self, req: EmuRequest, folder: str | None) -> EmuResponse | tuple[wire.YandexCompletionRequest, Plan]:
        try:
            body = structure_strict(req.json(), wire.YandexCompletionRequest)
        except (ValueError, WireValidationError) as exc:
            return self.error(400, f"invalid request: {exc}")
        found = self._model(body.model_uri, folder, _CHAT_MODELS)
        if isinstance(found, EmuResponse):
            return found
        opts = body.completion_options
        conv = Conversation(max_tokens=int(opts.max_tokens) if opts and opts.max_tokens is not None else None)
        for i, m in enumerate(body.messages):
            kinds = [k for k in (m.text, m.tool_call_list, m.tool_result_list) if k is not None]
            if len(kinds) != 1:
                return self.error(400, f"messages[{i}] must have exactly one of text, toolCallList, toolResultList")
            conv.all_text += " " + (m.text or "")
            if m.role == "user" and m.text is not None:
                conv.last_user_text = m.text
        last = body.messages[-1].tool_result_list
        if last is not None:
            conv.last_is_tool_result = True
            conv.tool_result_text = "; ".join(r.function_result.content for r in last.tool_results)
        conv.tools = [{"name": t.function.name, "parameters": t.function.parameters} for t in body.tools or []]
        return body, plan(conv)

    def _completion(self, req: EmuRequest, folder: str | None, asynchronous: bool) -> EmuResponse:
        got = self._request(req, folder)
        if isinstance(got, EmuResponse):
            return got
        body, p = got
        stream = bool(body.completion_options and body.completion_options.stream)
        if asynchronous:
            if stream:
                return self.error(400, "stream is not supported for completionAsync")
            op_id = f"d7q{uuid.uuid4().hex[:17]}"
            result = {
                "@type": "type.googleapis.com/yandex.cloud.ai.foundation_models.v1.CompletionResponse",
                **_result(p),
            }
            with self._lock:
                self.operations[op_id] = (0, result)
            return EmuResponse.json(_operation(op_id, done=False))
        if stream:
            lines = [json.dumps({"result": r}, ensure_ascii=False) + "\n" for r in _cumulative(p)]
            return EmuResponse(headers={"content-type": "application/json"}, chunks=[ln.encode() for ln in lines])
        return EmuResponse.json({"result": _result(p)})

    def _operation(self, op_id: str) -> EmuResponse:
        with self._lock:
            entry = self.operations.get(op_id)
            if entry is not None:
                self.operations[op_id] = (entry[0] + 1, entry[1])
        if entry is None:
            return self.error(404, f"Operation {op_id} not found")
        polls, result = entry
        return EmuResponse.json(_operation(op_id, done=polls >= 1, response=result))

    def _tokenize(self, req: EmuRequest, folder: str | None) -> EmuResponse:
        got = self._request(req, folder)
        if isinstance(got, EmuResponse):
            return got
        body, _ = got
        words = " ".join(m.text or "" for m in body.messages).split()
        tokens = [{"id": str(1000 + i), "text": w, "special": False} for i, w in enumerate(words)]
        return EmuResponse.json({"tokens": tokens, "modelVersion": _VERSION})

    def _embed(self, req: EmuRequest, folder: str | None) -> EmuResponse:
        """One text per call; the vector depends on the model, so query and document differ."""
        try:
            body = structure_strict(req.json(), wire.YandexTextEmbeddingRequest)
        except (ValueError, WireValidationError) as exc:
            return self.error(400, f"invalid request: {exc}")
        if not body.model_uri.startswith("emb://"):
            return self.error(400, f"Invalid model uri: {body.model_uri} (embeddings take emb://)")
        found = self._model(body.model_uri, folder, _EMBED_MODELS)
        if isinstance(found, EmuResponse):
            return found
        if not body.text:
            return self.error(400, "text must not be empty")
        n = count_tokens(body.text)
        if n > EMBED_MAX_TOKENS:
            return self.error(400, f"Number of input tokens must be no more than {EMBED_MAX_TOKENS}, got {n}")
        dims = EMBED_DIMS
        if body.dim is not None:
            try:
                dims = int(body.dim)
            except ValueError:
                return self.error(400, f"invalid request: dim {body.dim!r} is not an int64")
            if not 0 < dims <= EMBED_DIMS:
                return self.error(400, f"dim must be between 1 and {EMBED_DIMS}, got {dims}")
        return EmuResponse.json(
            {"embedding": embedding_vector(found, body.text, dims), "numTokens": str(n), "modelVersion": _VERSION}
        )

    def _openai(self, req: EmuRequest, folder: str | None) -> EmuResponse:
        data = req.json()
        try:
            body = structure_strict(data, openai_wire.CreateChatCompletionRequest)
        except (ValueError, WireValidationError) as exc:
            return EmuResponse.json(
                {"error": {"message": f"invalid request: {exc}", "type": "invalid_request_error"}}, 400
            )
        found = self._model(body.model, folder, _CHAT_MODELS)
        if isinstance(found, EmuResponse):
            return found
        m = _URI.match(body.model)
        assert m is not None
        echoed = f"gpt://{m.group(3)}/{m.group(4) or 'latest'}"  # Yandex echoes the model without the folder
        p = plan(_conversation(body, data))
        if body.stream:
            include = bool(body.stream_options and body.stream_options.include_usage)
            return EmuResponse.sse(_stream_events(echoed, p, include))
        out = _response(echoed, p)
        out["id"] = f"chatcmpl-{uuid.uuid4()}"
        return EmuResponse.json(out)


def _usage(p: Plan, output: int | None = None) -> dict[str, str]:
    out = p.output_tokens if output is None else output
    return {
        "inputTextTokens": str(p.input_tokens),
        "completionTokens": str(out),
        "totalTokens": str(p.input_tokens + out),
    }


def _status(p: Plan) -> str:
    if p.tool_calls:
        return "ALTERNATIVE_STATUS_TOOL_CALLS"
    return "ALTERNATIVE_STATUS_TRUNCATED_FINAL" if p.truncated else "ALTERNATIVE_STATUS_FINAL"


def _message(p: Plan, text: str | None = None) -> dict[str, Any]:
    if p.tool_calls and text is None:
        calls = [{"functionCall": {"name": n, "arguments": a}} for n, a in p.tool_calls]
        return {"role": "assistant", "toolCallList": {"toolCalls": calls}}
    return {"role": "assistant", "text": p.text if text is None else text}


def _result(p: Plan) -> dict[str, Any]:
    return {
        "alternatives": [{"message": _message(p), "status": _status(p)}],
        "usage": _usage(p),
        "modelVersion": _VERSION,
    }


def _cumulative(p: Plan) -> list[dict[str, Any]]:
    """Stream results: every line holds the whole text so far, PARTIAL until the last."""
    out = []
    so_far = ""
    pieces = [] if p.tool_calls else chunks(p.text)
    for i, piece in enumerate(pieces[:-1]):
        so_far += piece
        alt = {"message": _message(p, so_far), "status": "ALTERNATIVE_STATUS_PARTIAL"}
        out.append({"alternatives": [alt], "usage": _usage(p, i + 1), "modelVersion": _VERSION})
    out.append(_result(p))
    return out


def _operation(op_id: str, done: bool, response: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "id": op_id,
        "description": "Async GPT Completion",
        "createdAt": "2026-11-25T12:00:00Z",
        "createdBy": "ajeemulatedserviceacc",
        "modifiedAt": "2026-11-25T12:00:01Z",
        "done": done,
        "metadata": None,
    }
    if done and response is not None:
        op["response"] = response
    return op


HANDLER = YandexHandler()
