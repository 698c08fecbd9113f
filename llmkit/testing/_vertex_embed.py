"""The emulated Vertex AI's text embeddings (`publishers/google/models/{model}:predict`).

Checked as Vertex checks them, refusals in google.rpc.Status shape: the model must be a
catalogued Vertex embedding model (else 404 NOT_FOUND); the body must be exactly
`{"instances": [{"content", "task_type"?, "title"?}], "parameters"?: {"outputDimensionality",
"autoTruncate"}}` (an unknown name is 400 INVALID_ARGUMENT); 1 to 250 instances, and one for
gemini-embedding-001; `title` only with RETRIEVAL_DOCUMENT; outputDimensionality within the
model's size; a text over 2048 tokens is cut (`truncated: true`) unless autoTruncate is false,
then refused. Vectors are `embedding_vector(model, text, task_type, dims)`, deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import gemini as wire
from ._brain import count_tokens
from ._media_emu import catalog_models, vector
from ._server import EmuResponse

__all__ = ["MAX_INPUT_TOKENS", "embedding_dims", "embedding_vector", "predict"]

MAX_INPUT_TOKENS = 2048
_DIMS = {"gemini-embedding-001": 3072}
_DEFAULT_TASK = "RETRIEVAL_QUERY"

ErrorFn = Callable[[int, str, str], EmuResponse]


def embedding_dims(model: str) -> int:
    """Full vector size: 3072 for gemini-embedding-001, 768 for the text-embedding models."""
    return _DIMS.get(model, 768)


def embedding_vector(model: str, text: str, task_type: str = _DEFAULT_TASK, dims: int | None = None) -> list[float]:
    """What the emulated `:predict` returns for one text (the task type is part of it)."""
    return vector(f"{model}:{task_type}:{text}", dims or embedding_dims(model))


def _limit(model: str) -> int:
    return 1 if model.startswith("gemini-embedding") else 250


def predict(model: str, project: str | None, location: str | None, data: Any, error: ErrorFn) -> EmuResponse:
    """Answer one `:predict` call for an embedding model, or refuse it as Vertex would."""
    if project is None:
        return error(404, f"Publisher model {model} is not available in express mode.", "NOT_FOUND")
    if model not in catalog_models("vertex", "embeddings"):
        return error(
            404,
            f"Publisher Model `projects/{project}/locations/{location}/publishers/google/models/{model}` not found.",
            "NOT_FOUND",
        )
    try:
        body = structure_strict(data, wire.VertexPredictEmbeddingsRequest)
    except WireValidationError as exc:
        return error(400, f"Invalid JSON payload received. {exc.reason} (at {exc.path})", "INVALID_ARGUMENT")
    n = len(body.instances)
    if not 1 <= n <= _limit(model):
        return error(
            400,
            f"{model} takes between 1 and {_limit(model)} instances per request, got {n}.",
            "INVALID_ARGUMENT",
        )
    params = body.parameters or wire.VertexEmbeddingParameters()
    dims = embedding_dims(model)
    if params.output_dimensionality is not None:
        if not 1 <= params.output_dimensionality <= dims:
            return error(
                400,
                f"outputDimensionality must be between 1 and {dims}, got {params.output_dimensionality}.",
                "INVALID_ARGUMENT",
            )
        dims = params.output_dimensionality
    predictions = []
    for i, inst in enumerate(body.instances):
        task = inst.task_type or _DEFAULT_TASK
        if inst.title is not None and task != "RETRIEVAL_DOCUMENT":
            return error(
                400, f"instances[{i}]: title is only valid with task_type RETRIEVAL_DOCUMENT.", "INVALID_ARGUMENT"
            )
        if not inst.content:
            return error(400, f"instances[{i}].content must not be empty.", "INVALID_ARGUMENT")
        tokens = max(count_tokens(inst.content), 1)
        truncated = tokens > MAX_INPUT_TOKENS
        if truncated and params.auto_truncate is False:
            return error(
                400,
                f"Input text too long: instances[{i}] has {tokens} tokens, more than {MAX_INPUT_TOKENS}; "
                "set autoTruncate to cut it.",
                "INVALID_ARGUMENT",
            )
        stats = {"token_count": min(tokens, MAX_INPUT_TOKENS), "truncated": truncated}
        values = embedding_vector(model, inst.content, task, dims)
        predictions.append({"embeddings": {"values": values, "statistics": stats}})
    chars = sum(len(inst.content) for inst in body.instances)
    return EmuResponse.json({"predictions": predictions, "metadata": {"billableCharacterCount": chars}})
