"""The emulated Bedrock's InvokeModel for embedding models, and CountTokens' model checks.

InvokeModel bodies are the model family's own JSON, checked as strictly as Bedrock checks
them (an unknown key, a missing `input_type`, a `dimensions` Titan does not offer, too many
texts: each a 400 ValidationException "Malformed input request: ..."):

* Titan Text Embeddings V2: `{"inputText", "dimensions"?, "normalize"?, "embeddingTypes"?}`,
  one text, answered with `{"embedding", "inputTextTokenCount"}` (and `embeddingsByType` when
  types were asked for);
* Cohere Embed v3/v4: `{"texts" (1..96), "input_type", "truncate"?, "embedding_types"?,
  "output_dimension"? (v4 only)}`, answered with a list of vectors (`embeddings_floats`) or,
  when `embedding_types` is given, vectors keyed by type (`embeddings_by_type`). The body has
  no usage; the `x-amzn-bedrock-input-token-count` header has it, as on every InvokeModel.

Vectors are `embedding_vector(model, text, dims)`: deterministic, so tests compare with ==.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import bedrock_converse as wire
from ._brain import count_tokens
from ._media_emu import catalog_models, input_tokens, vector
from ._server import EmuResponse

__all__ = [
    "COHERE_MAX_TEXTS",
    "Reject",
    "count_invoke_model",
    "embedding_dims",
    "embedding_vector",
    "invoke",
    "require_count_tokens",
]

COHERE_MAX_TEXTS = 96
_V4_DIMS = (256, 512, 1024, 1536)
ANTHROPIC_VERSION = "bedrock-2023-05-31"


class Reject(Exception):
    """A refusal the handler answers in Bedrock's error shape."""

    def __init__(self, status: int, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def _malformed(reason: str) -> Reject:
    return Reject(400, f"Malformed input request: {reason}, please reformat your input and try again.")


def embedding_dims(model: str) -> int:
    """Default vector size: Titan V2 1024, Cohere v3 1024, Cohere v4 1536."""
    return 1536 if "embed-v4" in model else 1024


def embedding_vector(model: str, text: str, dims: int | None = None, input_type: str = "") -> list[float]:
    """What the emulated InvokeModel returns for one text (Cohere's depends on its input_type)."""
    return vector(f"{model}:{input_type}:{text}", dims or embedding_dims(model))


def _headers(tokens: int) -> dict[str, str]:
    return {
        "x-amzn-RequestId": str(uuid.uuid4()),
        "x-amzn-bedrock-input-token-count": str(tokens),
        "x-amzn-bedrock-invocation-latency": "12",
    }


def invoke(model: str, data: Any) -> EmuResponse:
    """InvokeModel for a catalogued embedding model; other models are refused."""
    if model not in catalog_models("bedrock", "embeddings"):
        raise Reject(400, f"The emulator serves InvokeModel for embedding models only, not {model}.")
    if not isinstance(data, dict):
        raise _malformed("#: expected type: JSONObject")
    if "amazon.titan-embed-text" in model:
        return _titan(model, data)
    return _cohere(model, data)


_TITAN_KEYS = frozenset({"inputText", "dimensions", "normalize", "embeddingTypes"})
_COHERE_KEYS = frozenset(
    {"texts", "images", "inputs", "input_type", "truncate", "embedding_types", "output_dimension", "max_tokens"}
)


def _known(data: dict[str, Any], keys: frozenset[str]) -> None:
    extra = sorted(set(data) - keys)
    if extra:
        raise _malformed(f"#: extraneous key [{extra[0]}] is not permitted")


def _titan(model: str, data: dict[str, Any]) -> EmuResponse:
    _known(data, _TITAN_KEYS)
    if data.get("dimensions", 1024) not in (256, 512, 1024):
        raise _malformed(f"#/dimensions: {data['dimensions']} is not a valid enum value")
    try:
        body = structure_strict(data, wire.TitanEmbedRequest)
    except WireValidationError as exc:
        raise _malformed(f"#: {exc.reason}") from None
    if not body.input_text:
        raise _malformed("#/inputText: expected minLength: 1, actual: 0")
    dims = body.dimensions or 1024
    vec = embedding_vector(model, body.input_text, dims)
    tokens = max(count_tokens(body.input_text), 1)
    if tokens > 8192:
        raise Reject(
            400, f"400 Bad Request: Too many input tokens. Max input tokens: 8192, request input token count: {tokens}"
        )
    out: dict[str, Any] = {"embedding": vec, "inputTextTokenCount": tokens}
    if body.embedding_types:
        out["embeddingsByType"] = {t: vec for t in body.embedding_types}
    return EmuResponse.json(out, headers=_headers(tokens))


def _cohere(model: str, data: dict[str, Any]) -> EmuResponse:
    _known(data, _COHERE_KEYS)
    if "input_type" not in data:
        raise _malformed("#: required key [input_type] not found")
    try:
        body = structure_strict(data, wire.CohereBedrockEmbedRequest)
    except WireValidationError as exc:
        raise _malformed(f"#: {exc.reason}") from None
    texts = body.texts or []
    if not 1 <= len(texts) <= COHERE_MAX_TEXTS:
        raise _malformed(f"#/texts: expected between 1 and {COHERE_MAX_TEXTS} items, got {len(texts)}")
    dims = embedding_dims(model)
    if body.output_dimension is not None:
        if "embed-v4" not in model:
            raise _malformed("#: extraneous key [output_dimension] is not permitted")
        if body.output_dimension not in _V4_DIMS:
            raise _malformed(f"#/output_dimension: {body.output_dimension} is not a valid enum value")
        dims = body.output_dimension
    types = body.embedding_types
    if types is not None and types != ["float"]:
        raise _malformed("the emulator serves only embedding_types ['float']")
    vectors = [embedding_vector(model, t, dims, body.input_type) for t in texts]
    out: dict[str, Any] = {"id": str(uuid.uuid4()), "texts": texts}
    if types is None:
        out.update(response_type="embeddings_floats", embeddings=vectors)
    else:
        out.update(response_type="embeddings_by_type", embeddings={"float": vectors})
    return EmuResponse.json(out, headers=_headers(input_tokens(texts)))


def require_count_tokens(model: str) -> None:
    """CountTokens only for models that have it (the catalog's count_tokens flag)."""
    if model not in catalog_models("bedrock", "count_tokens"):
        raise Reject(400, "The provided model doesn't support counting tokens.")


def count_invoke_model(inner: dict[str, Any]) -> int:
    """Tokens of CountTokens' `{"invokeModel": {"body": <base64 of an Anthropic body>}}` form."""
    raw = inner.get("body")
    if set(inner) != {"body"} or not isinstance(raw, str):
        raise _malformed("#/input/invokeModel: expected exactly the key [body], a base64 string")
    try:
        native = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        raise _malformed("#/input/invokeModel/body: not base64 of a JSON object") from None
    if not isinstance(native, dict) or native.get("anthropic_version") != ANTHROPIC_VERSION:
        raise _malformed(f"#/anthropic_version: must be {ANTHROPIC_VERSION!r}")
    texts: list[str] = [native["system"]] if isinstance(native.get("system"), str) else []
    for m in native.get("messages") or []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(b.get("text", "") for b in content if isinstance(b, dict))
    if not texts:
        raise _malformed("#/messages: expected minimum item count: 1")
    return max(count_tokens(" ".join(texts)), 1)
