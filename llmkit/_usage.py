"""Running cost and token totals (`client.usage`), budgets, and pre-call estimates.

Totals are per Client and behind a lock, so thousands of threads or tasks can record at once.
The budget's spend lives in the state backend: with `state_url` every process draws on one
budget. A call first reserves its *estimated* cost (prompt tokens guessed from characters, the
output at `max_tokens`), which makes concurrent callers see each other's spend; the estimate is
replaced by the real cost when the answer arrives, and released if the call fails.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

import attrs

from ._errors import BudgetExceededError, ConfigError
from ._spec import ModelInfo
from ._state import State
from ._types import ChatRequest, ContentPart, TextPart, Usage

__all__ = [
    "DEFAULT_OUTPUT_ESTIMATE",
    "Budget",
    "UsageTotals",
    "UsageTracker",
    "estimate_cost",
    "estimate_input_tokens",
    "estimate_text_tokens",
]

# Output tokens assumed for a call without `max_tokens` when estimating its cost.
DEFAULT_OUTPUT_ESTIMATE = 1024
# Characters per token for the estimate: about 4 for English; scripts like CJK are ~1 per token,
# so non-ASCII characters count one token each, which keeps the estimate on the safe side.
_CHARS_PER_TOKEN = 4
_IMAGE_TOKENS = 1000  # a typical image's input tokens, when estimating


@attrs.define(kw_only=True)
class UsageTotals:
    """Tokens and cost summed over calls. `unpriced_requests` counts calls with no known price."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0  # of cache_write_tokens, written with the 1-hour TTL
    cost_usd: float = 0.0
    unpriced_requests: int = 0

    def add(self, usage: Usage, cost: float | None) -> None:
        self.requests += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cached_input_tokens += usage.cached_input_tokens
        self.cache_write_tokens += usage.cache_write_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        self.cache_write_1h_tokens += usage.cache_write_1h_tokens
        if cost is None:
            self.unpriced_requests += 1
        else:
            self.cost_usd = round(self.cost_usd + cost, 10)


class UsageTracker:
    """`client.usage`: totals for the whole client, by model (`provider/model`) and by provider."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = UsageTotals()
        self._by_model: dict[str, UsageTotals] = {}
        self._by_provider: dict[str, UsageTotals] = {}
        self._cache_hits = 0

    def __repr__(self) -> str:
        return f"UsageTracker(requests={self._total.requests}, total_cost_usd={self._total.cost_usd!r})"

    def record(self, provider: str, model: str, usage: Usage, cost: float | None) -> None:
        with self._lock:
            self._total.add(usage, cost)
            self._by_model.setdefault(f"{provider}/{model}", UsageTotals()).add(usage, cost)
            self._by_provider.setdefault(provider, UsageTotals()).add(usage, cost)

    def record_cache_hit(self) -> None:
        with self._lock:
            self._cache_hits += 1

    @property
    def total_cost_usd(self) -> float:
        return self._total.cost_usd

    @property
    def total(self) -> UsageTotals:
        with self._lock:
            return attrs.evolve(self._total)

    @property
    def by_model(self) -> dict[str, UsageTotals]:
        """A snapshot: `{"openai/gpt-4o-mini": UsageTotals(...)}`."""
        with self._lock:
            return {k: attrs.evolve(v) for k, v in self._by_model.items()}

    @property
    def by_provider(self) -> dict[str, UsageTotals]:
        with self._lock:
            return {k: attrs.evolve(v) for k, v in self._by_provider.items()}

    @property
    def cache_hits(self) -> int:
        """Calls answered from the response cache (they cost nothing and are not in the totals)."""
        return self._cache_hits

    def reset(self) -> None:
        with self._lock:
            self._total = UsageTotals()
            self._by_model.clear()
            self._by_provider.clear()
            self._cache_hits = 0


def _part_tokens(part: ContentPart) -> int:
    if isinstance(part, TextPart):
        return _text_tokens(part.text)
    text = getattr(part, "text", None)
    return _text_tokens(text) if isinstance(text, str) else _IMAGE_TOKENS


def _text_tokens(text: str) -> int:
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (ascii_chars + _CHARS_PER_TOKEN - 1) // _CHARS_PER_TOKEN + (len(text) - ascii_chars)


def estimate_input_tokens(req: ChatRequest) -> int:
    """A quick, slightly generous guess of the prompt's tokens (no tokenizer, no network)."""
    total = 0
    for m in req.messages:
        total += 4  # role and framing
        total += sum(_part_tokens(p) for p in m.parts)
        for c in m.tool_calls:
            total += _text_tokens(c.name) + _text_tokens(c.raw_arguments or str(c.arguments))
    if req.tools:
        total += sum(_text_tokens(str(t)) for t in req.tools)
    return total


def estimate_text_tokens(items: Iterable[object]) -> int:
    """The same guess for the inputs of a call beyond chat: text by its characters, an input
    made of parts by its parts, anything else (an image) as a typical image."""
    total = 0
    for item in items:
        if isinstance(item, str):
            total += _text_tokens(item)
        elif isinstance(getattr(item, "parts", None), tuple):
            total += estimate_text_tokens(item.parts)  # type: ignore[attr-defined]
        else:
            total += _IMAGE_TOKENS
    return total


def estimate_cost(info: ModelInfo | None, input_tokens: int, output_tokens: int) -> float | None:
    """The cost at catalog prices of this many tokens; None when the model has no price."""
    if info is None or info.price.input is None or info.price.output is None:
        return None
    return (input_tokens * info.price.input + output_tokens * info.price.output) / 1_000_000


class Budget:
    """`Client(budget_usd=...)`: refuse a call whose estimated cost would take spend past the limit."""

    def __init__(self, limit_usd: float, state: State) -> None:
        if isinstance(limit_usd, bool) or not isinstance(limit_usd, (int, float)) or limit_usd < 0:
            raise ConfigError(f"budget_usd must be a non-negative number of dollars, got {limit_usd!r}")
        self.limit_usd = float(limit_usd)
        self.state = state

    def __repr__(self) -> str:
        return f"Budget(limit_usd={self.limit_usd!r}, spent_usd={self.spent_usd!r})"

    @property
    def spent_usd(self) -> float:
        """Spend so far, estimates of calls in flight included (shared with `state_url`)."""
        return self.state.budget_spent()

    @property
    def remaining_usd(self) -> float:
        return max(self.limit_usd - self.spent_usd, 0.0)

    def _refuse(self, model: str, estimate: float, spent: float) -> BudgetExceededError:
        return BudgetExceededError(
            f"{model} would cost about ${estimate:.6f}, and ${spent:.6f} of the ${self.limit_usd:.2f} budget "
            "is spent: raise budget_usd, lower max_tokens, or pick a cheaper model",
            provider=model.partition("/")[0],
        )

    def _spent_up(self, model: str, spent: float) -> BudgetExceededError:
        return BudgetExceededError(
            f"{model}: ${spent:.6f} of the ${self.limit_usd:.2f} budget is spent, and a call whose price "
            "llmkit cannot estimate is not sent once the budget is used up: raise budget_usd",
            provider=model.partition("/")[0],
        )

    def _under(self) -> float:
        # Just below the limit: a zero reservation then fails once the spend has *reached* it.
        return math.nextafter(self.limit_usd, -math.inf)

    def reserve(self, model: str, estimate: float) -> None:
        ok, spent = self.state.budget_reserve(estimate, self.limit_usd)
        if not ok:
            raise self._refuse(model, estimate, spent)

    async def areserve(self, model: str, estimate: float) -> None:
        ok, spent = await self.state.abudget_reserve(estimate, self.limit_usd)
        if not ok:
            raise self._refuse(model, estimate, spent)

    def check_open(self, model: str) -> None:
        """For a call whose price llmkit cannot estimate (speech, images, transcription, native
        requests): reserves nothing, but is refused once the budget is used up."""
        ok, spent = self.state.budget_reserve(0.0, self._under())
        if not ok:
            raise self._spent_up(model, spent)

    async def acheck_open(self, model: str) -> None:
        ok, spent = await self.state.abudget_reserve(0.0, self._under())
        if not ok:
            raise self._spent_up(model, spent)

    def adjust(self, delta: float) -> None:
        if delta:
            self.state.budget_add(delta)

    async def aadjust(self, delta: float) -> None:
        if delta:
            await self.state.abudget_add(delta)
