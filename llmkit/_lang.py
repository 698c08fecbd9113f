"""Which writing system (and, where the script tells, which language) a prompt is in.

For the router's `language` strategy: a Russian prompt to an entry marked `"languages": ["ru"]`
(GigaChat, YandexGPT), a Korean one to CLOVA. Script detection is exact and costs one pass over
the text; telling languages apart within a script is done only where letters make it certain
(Ukrainian and Kazakh letters within Cyrillic, kana within Japanese).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["detect_tags", "prompt_text"]

# (first, last, script) code point ranges of the scripts worth routing on.
_RANGES = (
    (0x0400, 0x052F, "cyrillic"),
    (0x0370, 0x03FF, "greek"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0E00, 0x0E7F, "thai"),
    (0x10A0, 0x10FF, "georgian"),
    (0x0530, 0x058F, "armenian"),
    (0x1100, 0x11FF, "hangul"),
    (0x3130, 0x318F, "hangul"),
    (0xAC00, 0xD7AF, "hangul"),
    (0x3040, 0x309F, "kana"),
    (0x30A0, 0x30FF, "kana"),
    (0x4E00, 0x9FFF, "han"),
    (0x3400, 0x4DBF, "han"),
)
# The language tag a script implies (the script's main language); Cyrillic is refined below.
_SCRIPT_LANG = {
    "cyrillic": "ru",
    "greek": "el",
    "hebrew": "he",
    "arabic": "ar",
    "devanagari": "hi",
    "thai": "th",
    "georgian": "ka",
    "armenian": "hy",
    "hangul": "ko",
    "han": "zh",
}
_UKRAINIAN = frozenset("іїєґІЇЄҐ")
_KAZAKH = frozenset("әғқңөұүһӘҒҚҢӨҰҮҺ")
_SAMPLE = 2000  # characters looked at: enough to be sure, bounded for long prompts


def _script(ch: str) -> str | None:
    o = ord(ch)
    if o < 0x80:
        return "latin" if ch.isalpha() else None
    for lo, hi, name in _RANGES:
        if lo <= o <= hi:
            return name
    return "latin" if ch.isalpha() and o < 0x0250 else None


def detect_tags(text: str) -> frozenset[str]:
    """The dominant script and its language, e.g. {"cyrillic", "ru"}, {"hangul", "ko"},
    {"kana", "ja"}, {"latin"}; empty for text with no letters."""
    counts: dict[str, int] = {}
    sample = text[-_SAMPLE:]
    for ch in sample:
        s = _script(ch)
        if s is not None:
            counts[s] = counts.get(s, 0) + 1
    if not counts:
        return frozenset()
    if counts.get("kana"):  # Japanese mixes kana with han; kana alone says Japanese
        return frozenset({"kana", "han", "ja"})
    script = max(counts, key=lambda k: counts[k])
    tags = {script}
    lang = _SCRIPT_LANG.get(script)
    if script == "cyrillic":
        letters = set(sample)
        lang = "uk" if letters & _UKRAINIAN else "kk" if letters & _KAZAKH else "ru"
    if lang:
        tags.add(lang)
    return frozenset(tags)


def prompt_text(messages: str | Sequence[Any]) -> str:
    """The text the language is judged on: the last user turn (what is being asked now)."""
    if isinstance(messages, str):
        return messages
    from ._types import coerce_messages

    turns = coerce_messages(messages)
    for m in reversed(turns):
        if m.role == "user":
            return m.text
    return turns[-1].text if turns else ""
