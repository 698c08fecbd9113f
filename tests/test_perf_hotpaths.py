"""Hot-path shortcuts must give exactly what the general paths give (no timings asserted here)."""

from __future__ import annotations

import pytest

from llmkit._events import FinishEvent, ReasoningDelta, StreamAccumulator, TextDelta
from llmkit._types import ReasoningPart, TextPart
from llmkit._wire import WireValidationError, structure
from llmkit.generated.wire import openai_chat as wire

CHUNK = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None, "logprobs": None}],
}


def test_chunk_with_only_known_keys() -> None:
    chunk = structure(CHUNK, wire.ChatCompletionChunk)
    assert chunk.id == "c1" and chunk.created == 1 and chunk.usage is None
    assert chunk.choices[0].delta.content == "hi"
    assert chunk.additional_properties == {} and chunk.choices[0].delta.additional_properties == {}


def test_unknown_keys_are_still_kept() -> None:
    body = {**CHUNK, "x_groq": {"id": "q"}, "choices": [{**CHUNK["choices"][0], "extra": 1}]}  # type: ignore[dict-item]
    chunk = structure(body, wire.ChatCompletionChunk)
    assert chunk.additional_properties == {"x_groq": {"id": "q"}}
    assert chunk.choices[0].additional_properties == {"extra": 1}


@pytest.mark.parametrize("bad", [True, "1", 1.5, [1]])
def test_optional_int_rejects_what_is_not_an_int(bad: object) -> None:
    with pytest.raises(WireValidationError):
        structure({**CHUNK, "created": bad}, wire.ChatCompletionChunk)


@pytest.mark.parametrize("bad", [1, True, {"a": 1}])
def test_optional_str_rejects_what_is_not_a_str(bad: object) -> None:
    with pytest.raises(WireValidationError):
        structure({**CHUNK, "model": bad}, wire.ChatCompletionChunk)


def test_accumulator_joins_many_text_pieces() -> None:
    acc = StreamAccumulator("p", "m")
    for i in range(1000):
        acc.add(TextDelta(text=f"{i} "))
    acc.add(FinishEvent(finish_reason="stop", raw_finish_reason="stop"))
    assert acc.response().text == "".join(f"{i} " for i in range(1000))


def test_accumulator_keeps_part_order_and_reasoning_signatures() -> None:
    acc = StreamAccumulator("p", "m")
    acc.add(ReasoningDelta(text="think "))
    acc.add(ReasoningDelta(text="more"))
    acc.add(ReasoningDelta(signature="sig"))
    acc.add(ReasoningDelta(text="second"))
    acc.add(TextDelta(text="a"))
    acc.add(TextDelta(text="b"))
    acc.add(FinishEvent(finish_reason="stop", raw_finish_reason="stop"))
    content = acc.response().message.content
    assert isinstance(content, list)
    assert [type(p) for p in content] == [ReasoningPart, ReasoningPart, TextPart]
    first, second, text = content
    assert isinstance(first, ReasoningPart) and (first.text, first.signature) == ("think more", "sig")
    assert isinstance(second, ReasoningPart) and second.text == "second" and second.signature is None
    assert isinstance(text, TextPart) and text.text == "ab"
