"""Images among the inputs of `embed`: how they are given, checked and handed to adapters.

`client.embed(model, inputs)` keeps its text form (`"a"` or `["a", "b"]`); an input may also
be an image, given as chat messages give one (`llmkit.ImagePart(url=...)` or
`ImagePart(data=..., media_type=...)`, or an `{"type": "image_url", ...}` dict), or a list of
text and image parts that together make one input (Voyage's interleaved multimodal inputs).
Each input still gets one vector, in order.

An image goes only to a model whose catalog entry takes images (`vision`, e.g.
`jina/jina-clip-v2`, `voyage/voyage-multimodal-3`); any other model raises
UnsupportedFeatureError before a request is sent. I/O-free, like the rest of the planning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import attrs

from .._errors import ConfigError, UnsupportedFeatureError
from .._types import ImagePart, TextPart, image_url, split_data_url

if TYPE_CHECKING:
    from ..dialects._base import CallContext
    from ._base import EmbedOptions, ModalRequest
    from ._plan import Resolved

__all__ = [
    "EmbedInput",
    "EmbedItem",
    "MultimodalInput",
    "embed_items",
    "embed_request",
    "image_base64",
    "image_data_url",
]


@attrs.frozen(slots=True)
class MultimodalInput:
    """One embeddings input made of text and image parts (an image alone is one part)."""

    parts: tuple[str | ImagePart, ...]

    @property
    def images(self) -> int:
        return sum(isinstance(p, ImagePart) for p in self.parts)


EmbedItem = str | MultimodalInput
EmbedPart = str | ImagePart | TextPart | Mapping[str, Any]
EmbedInput = EmbedPart | Sequence[EmbedPart]  # what a user may give as one input


def _part(value: Any, where: str) -> str | ImagePart:
    if isinstance(value, str):
        return value
    if isinstance(value, TextPart):
        return value.text
    if isinstance(value, ImagePart):
        return value
    if isinstance(value, Mapping):
        from .._types import _part_from_dict

        part = _part_from_dict(value, 0, 0)
        if isinstance(part, TextPart):
            return part.text
        if isinstance(part, ImagePart):
            return part
    raise ConfigError(
        f"{where} must be a string, an llmkit.ImagePart, an image_url/text dict or a list of these; "
        f"got {type(value).__name__}"
    )


def _item(value: Any, i: int) -> EmbedItem:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        if not value:
            raise ConfigError(f"inputs[{i}] is an empty list of parts")
        return MultimodalInput(tuple(_part(p, f"inputs[{i}][{j}]") for j, p in enumerate(value)))
    part = _part(value, f"inputs[{i}]")
    return part if isinstance(part, str) else MultimodalInput((part,))


def embed_items(inputs: Any, ctx: CallContext) -> list[EmbedItem]:
    """The inputs as a non-empty list (text stays text); an image for a model that does not
    take images raises UnsupportedFeatureError, before any request."""
    items = [inputs] if isinstance(inputs, (str, ImagePart, TextPart, Mapping)) else list(inputs)
    if not items:
        raise ConfigError("embed needs at least one input")
    out = [_item(v, i) for i, v in enumerate(items)]
    if any(isinstance(x, MultimodalInput) for x in out):
        caps = ctx.model_info.capabilities if ctx.model_info is not None else None
        if caps is None or not caps.vision:
            images = any(isinstance(x, MultimodalInput) and x.images for x in out)
            what = "images need" if images else "an input made of a list of parts needs"
            raise UnsupportedFeatureError(
                f"{ctx.provider}/{ctx.model} embeds text only; {what} a multimodal embedding model "
                "(e.g. jina/jina-clip-v2 or voyage/voyage-multimodal-3; see llmkit.models())",
                provider=ctx.provider,
                code="embeddings_images",
            )
    return out


def embed_request(r: Resolved, batch: Sequence[EmbedItem], opts: EmbedOptions) -> ModalRequest:
    """The adapter's text request for a batch of texts, its multimodal one otherwise."""
    if all(isinstance(x, str) for x in batch):
        return r.adapter.embed_request(cast("list[str]", list(batch)), opts, r.ctx)
    return r.adapter.embed_multimodal_request(batch, opts, r.ctx)


def image_data_url(part: ImagePart) -> str | None:
    """A `data:<type>;base64,...` URL for an image given as bytes or a data URL; None for a web URL."""
    url = image_url(part)
    return url if url.startswith("data:") else None


def image_base64(part: ImagePart) -> str | None:
    """The bare base64 of an image given as bytes or a data URL; None for a web URL."""
    data = image_data_url(part)
    split = split_data_url(data) if data is not None else None
    return split[1] if split is not None else None
