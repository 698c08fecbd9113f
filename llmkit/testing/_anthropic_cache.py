"""The emulated Anthropic prompt cache: which prefix a request reads, and what it writes at
which TTL.

A request's cache breakpoints (`cache_control` on tools, system blocks and message blocks,
in that order) each mark a prefix. The longest prefix already cached (per Emulator and model)
is read; the tokens from there up to each later breakpoint are written at that breakpoint's
TTL, as Anthropic bills mixed TTLs: a 1-hour breakpoint followed by a 5-minute one writes the
part up to the first at 1 hour and the rest at 5 minutes. Anthropic refuses more than four
breakpoints and a 1-hour breakpoint after a 5-minute one (longer durations come first: its
prompt-caching rule for mixed TTLs, as recalled; Bedrock documents the same non-increasing
rule for its cache points).
"""

from __future__ import annotations

import hashlib
import weakref

from ._brain import count_tokens
from ._server import Emulator

__all__ = ["MAX_BREAKPOINTS", "Breakpoint", "cache_usage", "check_breakpoints"]

Breakpoint = tuple[int, str]  # (index of the last prompt segment it covers, its ttl: "5m" or "1h")
MAX_BREAKPOINTS = 4
_CACHES: weakref.WeakKeyDictionary[Emulator, set[str]] = weakref.WeakKeyDictionary()


def check_breakpoints(marks: list[Breakpoint]) -> str | None:
    """Anthropic's error message for breakpoints it refuses, or None."""
    if len(marks) > MAX_BREAKPOINTS:
        return f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(marks)}."
    ttls = [ttl for _, ttl in marks]
    if "5m" in ttls and "1h" in ttls[ttls.index("5m") :]:
        return (
            "cache_control: a block with ttl='1h' cannot come after a block with ttl='5m'; "
            "cache entries with a longer TTL must appear before shorter ones"
        )
    return None


def _tokens(segments: list[str], last: int) -> int:
    return count_tokens(" ".join(segments[: last + 1]))


def _key(model: str, segments: list[str], last: int) -> str:
    return hashlib.sha256(f"{model}\0{' '.join(segments[: last + 1])}".encode()).hexdigest()


def cache_usage(emu: Emulator, model: str, segments: list[str], marks: list[Breakpoint]) -> tuple[int, dict[str, int]]:
    """Tokens read from the cache, and tokens written by TTL (`{"5m": n, "1h": m}`); the
    written prefixes are cached for the next request."""
    seen = _CACHES.setdefault(emu, set())
    points = [(i, ttl, _key(model, segments, i)) for i, ttl in marks if i >= 0]
    read = 0
    start = 0
    for n in range(len(points) - 1, -1, -1):
        if points[n][2] in seen:
            read = _tokens(segments, points[n][0])
            start = n + 1
            break
    written = {"5m": 0, "1h": 0}
    before = read
    for i, ttl, key in points[start:]:
        upto = _tokens(segments, i)
        written[ttl] += max(upto - before, 0)
        before = max(upto, before)
        seen.add(key)
    return read, written
