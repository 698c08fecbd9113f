"""Model lifecycle at call time: a deprecated model warns once, a retired one raises.

A catalog entry carries the provider's published dates, not a status: whether a model is
active, deprecated or retired is computed against today's date (UTC) each time it is used, so
a shutdown date that passes takes effect without a spec change. Today comes from a clock that
tests replace (`llmkit.testing.frozen_date`), so date-driven behaviour is checked without
waiting for the calendar.

Escape hatch: a provider setting `allow_retired_models` (a list of that provider's model ids)
lets a call to a retired model go out anyway, with a warning, for providers that keep a model
reachable past its date (Anthropic by request, Google's "earliest possible" dates).
"""

from __future__ import annotations

import datetime
import os
import sys
import threading
import warnings
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

from ._errors import ConfigError
from ._spec import Lifecycle, LifecycleStatus

__all__ = [
    "ALLOW_RETIRED_SETTING",
    "ModelDeprecationWarning",
    "allowed_retired",
    "check_lifecycle",
    "frozen_date",
    "lifecycle_status",
    "today",
]

ALLOW_RETIRED_SETTING = "allow_retired_models"


class ModelDeprecationWarning(FutureWarning):
    """A deprecated (or explicitly allowed retired) model was used; shown once per model per
    process. A FutureWarning, so Python's default filters show it."""


def _utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


_clock: Callable[[], datetime.date] = _utc_today
_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()


def today() -> datetime.date:
    """The date lifecycle checks compare against: UTC today unless a test froze it."""
    return _clock()


@contextmanager
def frozen_date(day: datetime.date | str) -> Iterator[None]:
    """Lifecycle checks see `day` (a date or YYYY-MM-DD) inside the block; for tests and
    examples that must not depend on the calendar. Warnings already shown are forgotten on
    entry and exit, so each block sees its own first warning."""
    global _clock
    fixed = day if isinstance(day, datetime.date) else datetime.date.fromisoformat(day)
    previous = _clock
    with _lock:
        _clock = lambda: fixed  # noqa: E731 - a one-value clock
        _warned.clear()
    try:
        yield
    finally:
        with _lock:
            _clock = previous
            _warned.clear()


def allowed_retired(provider: str, value: object) -> frozenset[str]:
    """The `allow_retired_models` setting as a set of model ids; ConfigError if it is not a
    list of strings (a bare True would silently allow every retired model)."""
    if value is None:
        return frozenset()
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Collection)
        or not all(isinstance(v, str) for v in value)
    ):
        raise ConfigError(
            f"{ALLOW_RETIRED_SETTING} for {provider!r} must be a list of model ids, got {value!r}",
            provider=provider,
        )
    return frozenset(value)


def lifecycle_status(lc: Lifecycle | None) -> LifecycleStatus:
    """The status of a lifecycle today (no lifecycle: active)."""
    return "active" if lc is None else lc.status_on(today())


def check_lifecycle(
    provider: str,
    model: str,
    lc: Lifecycle | None,
    *,
    replacement: str | None = None,
    allow_retired: Collection[str] = (),
    key: str | None = None,
) -> None:
    """Raise ConfigError for a retired model (unless allowed), warn once for a deprecated one.

    `replacement` is the lifecycle's replacement as a full `provider/model` string; `key` the
    catalog id the warning is remembered under (an alias and its model warn once together).
    """
    if lc is None:
        return
    status = lc.status_on(today())
    instead = f"; use {replacement} instead" if replacement else ""
    if status == "retired":
        if model not in allow_retired and (key is None or key not in allow_retired):
            raise ConfigError(
                f"model {provider}/{model} was retired on {lc.retires}{instead}. If {provider} still serves it "
                f"to you, allow it with providers={{{provider!r}: {{{ALLOW_RETIRED_SETTING!r}: [{model!r}]}}}}",
                provider=provider,
            )
        _warn_once(
            (provider, key or model),
            f"model {provider}/{model} was retired on {lc.retires}{instead} (called anyway: {ALLOW_RETIRED_SETTING})",
        )
    elif status == "deprecated":
        since = f" on {lc.deprecated}" if lc.deprecated else ""
        until = f"; retires on {lc.retires}" if lc.retires else ""
        _warn_once((provider, key or model), f"model {provider}/{model} was deprecated{since}{until}{instead}")


def _warn_once(key: tuple[str, str], message: str) -> None:
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, ModelDeprecationWarning, stacklevel=_caller_level())


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _caller_level() -> int:
    """The stacklevel of the first frame outside llmkit, so the warning names the user's line
    (`app.py:12`) rather than llmkit's internals, however deep the call path is."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
