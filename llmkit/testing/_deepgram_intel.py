"""Emulated Deepgram audio intelligence: `summarize=v2`, `sentiment`, `topics`, `intents`.

Deterministic stand-ins in Deepgram's documented result shapes (results.summary,
results.sentiments, results.topics, results.intents), computed from the transcript so a test
can say what must come back: sentences are the segments; a sentence's sentiment is its
positive minus negative words over its length (Deepgram's labels at +/-0.333); its topic is
its longest word; an imperative sentence ("Cancel my order.") has the intent "<Verb> <object>".
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["intelligence_results"]

_POSITIVE = frozenset({"good", "great", "love", "happy", "thanks", "excellent", "like", "nice", "wonderful"})
_NEGATIVE = frozenset({"bad", "hate", "terrible", "sad", "angry", "awful", "broken", "never", "worst"})
_VERBS = frozenset({"book", "buy", "call", "cancel", "change", "check", "find", "order", "send", "stop"})
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_THRESHOLD = 0.333


def _bare(word: str) -> str:
    return word.lower().strip(".,!?;:\"'")


def _sentences(words: list[str]) -> list[tuple[int, int]]:
    """(first word, last word) index pairs of each sentence."""
    spans: list[tuple[int, int]] = []
    start = 0
    for i, w in enumerate(words):
        if w.endswith((".", "!", "?")) or i == len(words) - 1:
            spans.append((start, i))
            start = i + 1
    return spans


def _label(score: float) -> str:
    return "positive" if score >= _THRESHOLD else "negative" if score <= -_THRESHOLD else "neutral"


def _score(words: list[str]) -> float:
    bare = [_bare(w) for w in words]
    hits = sum(1 for w in bare if w in _POSITIVE) - sum(1 for w in bare if w in _NEGATIVE)
    return round(max(-1.0, min(1.0, 2 * hits / max(len(bare), 1))), 3)


def intelligence_results(text: str, query: dict[str, str]) -> dict[str, Any]:
    """The `results` members Deepgram adds for the intelligence options in `query`."""
    words = text.split()
    spans = _sentences(words)
    out: dict[str, Any] = {}
    if query.get("summarize") == "v2":
        first = " ".join(words[spans[0][0] : spans[0][1] + 1]) if spans else ""
        out["summary"] = {"result": "success", "short": f"The speaker says: {first}"}
    if query.get("sentiment") == "true":
        segs: list[dict[str, Any]] = []
        for a, b in spans:
            score = _score(words[a : b + 1])
            segs.append(
                {
                    "text": " ".join(words[a : b + 1]),
                    "start_word": a,
                    "end_word": b,
                    "sentiment": _label(score),
                    "sentiment_score": score,
                }
            )
        avg = round(sum(s["sentiment_score"] for s in segs) / len(segs), 3) if segs else 0.0
        out["sentiments"] = {"segments": segs, "average": {"sentiment": _label(avg), "sentiment_score": avg}}
    if query.get("topics") == "true":
        topics: list[dict[str, Any]] = []
        for a, b in spans:
            longest = max((_bare(w) for w in words[a : b + 1]), key=len)
            if len(longest) >= 4:
                topics.append(
                    {
                        "text": " ".join(words[a : b + 1]),
                        "start_word": a,
                        "end_word": b,
                        "topics": [{"topic": longest.capitalize(), "confidence_score": 0.8}],
                    }
                )
        out["topics"] = {"segments": topics}
    if query.get("intents") == "true":
        intents: list[dict[str, Any]] = []
        for a, b in spans:
            verb = _bare(words[a])
            if verb in _VERBS:
                intent = f"{verb.capitalize()} {_bare(words[b])}" if b > a else verb.capitalize()
                intents.append(
                    {
                        "text": " ".join(words[a : b + 1]),
                        "start_word": a,
                        "end_word": b,
                        "intents": [{"intent": intent, "confidence_score": 0.9}],
                    }
                )
        out["intents"] = {"segments": intents}
    return out
