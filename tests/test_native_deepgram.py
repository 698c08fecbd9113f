"""Deepgram audio intelligence on /v1/listen: options on the wire, typed results back."""

from __future__ import annotations

from typing import Any

import pytest

import llmkit
from llmkit._modal_types import Transcription
from llmkit.modalities.deepgram import Label, LabelledSegment, SentimentSegment, intelligence

# Deepgram's documented pre-recorded response with sentiment, summarize=v2, topics and intents
# (field names per the official OpenAPI; values made up).
_INTELLIGENT = {
    "metadata": {
        "transaction_key": "deprecated",
        "request_id": "a1b2c3d4-0000-4000-8000-000000000001",
        "sha256": "0" * 64,
        "created": "2026-01-01T00:00:00.000Z",
        "duration": 3.0,
        "channels": 1,
        "models": ["30089e05-99d1-4376-b32e-c263170674af"],
        "model_info": {},
        "summary_info": {"input_tokens": 12, "output_tokens": 8, "model_uuid": "67875a7f-c9c4-48a0-aa55-5bdb8b91c34a"},
        "sentiment_info": {"model_uuid": "80ab3179-d113-4254-bd6b-4a2f96498695", "input_tokens": 12, "output_tokens": 12},
    },
    "results": {
        "channels": [
            {
                "alternatives": [
                    {
                        "transcript": "I love it. Cancel my order.",
                        "confidence": 0.97,
                        "words": [
                            {"word": "i", "start": 0.0, "end": 0.2, "confidence": 0.99, "punctuated_word": "I",
                             "speaker": 0, "sentiment": "positive", "sentiment_score": 0.7},
                            {"word": "love", "start": 0.2, "end": 0.5, "confidence": 0.99, "punctuated_word": "love",
                             "speaker": 0, "sentiment": "positive", "sentiment_score": 0.8},
                            {"word": "it", "start": 0.5, "end": 0.7, "confidence": 0.99, "punctuated_word": "it.",
                             "speaker": 0, "sentiment": "positive", "sentiment_score": 0.7},
                            {"word": "cancel", "start": 1.5, "end": 1.9, "confidence": 0.98,
                             "punctuated_word": "Cancel", "speaker": 1},
                            {"word": "my", "start": 1.9, "end": 2.1, "confidence": 0.98, "punctuated_word": "my",
                             "speaker": 1},
                            {"word": "order", "start": 2.1, "end": 2.6, "confidence": 0.98,
                             "punctuated_word": "order.", "speaker": 1},
                        ],
                    }
                ],
                "detected_language": "en",
                "language_confidence": 0.97,
            }
        ],
        "utterances": [
            {"start": 0.0, "end": 0.7, "confidence": 0.99, "channel": 0, "transcript": "I love it.", "speaker": 0,
             "id": "u-0", "sentiment": "positive", "sentiment_score": 0.73},
            {"start": 1.5, "end": 2.6, "confidence": 0.98, "channel": 0, "transcript": "Cancel my order.",
             "speaker": 1, "id": "u-1"},
        ],
        "summary": {"result": "success", "short": "A customer likes the product but cancels an order."},
        "sentiments": {
            "segments": [
                {"text": "I love it.", "start_word": 0, "end_word": 2, "sentiment": "positive",
                 "sentiment_score": 0.73},
                {"text": "Cancel my order.", "start_word": 3, "end_word": 5, "sentiment": "negative",
                 "sentiment_score": -0.41},
            ],
            "average": {"sentiment": "neutral", "sentiment_score": 0.16},
        },
        "topics": {"segments": [{"text": "Cancel my order.", "start_word": 3, "end_word": 5,
                                 "topics": [{"topic": "Order cancellation", "confidence_score": 0.91}]}]},
        "intents": {"segments": [{"text": "Cancel my order.", "start_word": 3, "end_word": 5,
                                  "intents": [{"intent": "Cancel order", "confidence_score": 0.95}]}]},
    },
}  # fmt: skip

_OPTIONS = {
    "smart_format": True,
    "diarize": True,
    "detect_language": True,
    "utterances": True,
    "sentiment": True,
    "summarize": "v2",
    "topics": True,
    "intents": True,
}


def test_intelligence_options_go_on_the_query_and_results_come_back_typed(emu: Any, client: Any) -> None:
    emu.queue_json("deepgram", _INTELLIGENT)
    t = client.transcribe("deepgram/nova-3", b"I love it. Cancel my order.", options=_OPTIONS)
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/deepgram/v1/listen")
    assert req.query == {
        "model": "nova-3", "smart_format": "true", "diarize": "true", "detect_language": "true",
        "utterances": "true", "sentiment": "true", "summarize": "v2", "topics": "true", "intents": "true",
    }  # fmt: skip
    assert t.text == "I love it. Cancel my order."
    assert t.language == "en"
    assert [(w.text, w.speaker) for w in t.words] == [
        ("I", "0"), ("love", "0"), ("it.", "0"), ("Cancel", "1"), ("my", "1"), ("order.", "1"),
    ]  # fmt: skip
    assert [(s.text, s.speaker, s.start, s.end) for s in t.segments] == [
        ("I love it.", "0", 0.0, 0.7),
        ("Cancel my order.", "1", 1.5, 2.6),
    ]

    intel = intelligence(t)
    assert intel.summary == "A customer likes the product but cancels an order."
    assert (intel.sentiment, intel.sentiment_score) == ("neutral", 0.16)
    assert intel.sentiments == [
        SentimentSegment(text="I love it.", sentiment="positive", score=0.73, start_word=0, end_word=2),
        SentimentSegment(text="Cancel my order.", sentiment="negative", score=-0.41, start_word=3, end_word=5),
    ]
    assert intel.topics == [
        LabelledSegment(
            text="Cancel my order.",
            labels=[Label(name="Order cancellation", confidence=0.91)],
            start_word=3,
            end_word=5,
        )
    ]
    assert intel.intents[0].labels == [Label(name="Cancel order", confidence=0.95)]
    assert (intel.language, intel.language_confidence) == ("en", 0.97)


def test_emulated_listen_diarizes_and_detects_language(emu: Any, client: Any) -> None:
    t = client.transcribe(
        "deepgram/nova-3",
        b"Good morning everyone.",
        options={"diarize": True, "detect_language": True, "utterances": True, "smart_format": True},
    )
    assert emu.last_request.query["diarize"] == "true"
    assert [(w.text, w.speaker) for w in t.words] == [("Good", "0"), ("morning", "0"), ("everyone.", "0")]
    assert t.language == "en" and [s.speaker for s in t.segments] == ["0"]
    intel = intelligence(t)
    assert (intel.summary, intel.sentiments, intel.topics, intel.intents) == (None, [], [], [])
    assert intel.language == "en"


def test_intelligence_refuses_other_providers_transcriptions() -> None:
    other = Transcription(text="x", model="whisper-1", provider="openai", raw={"text": "x"})
    with pytest.raises(llmkit.UnsupportedFeatureError, match="Deepgram"):
        intelligence(other)
