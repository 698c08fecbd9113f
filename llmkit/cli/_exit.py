"""Exit codes and one-line error messages a shell user (or a script) can act on.

Each typed llmkit error has its own exit code, so `case $?` in a script can tell "fix your key"
from "try again later"; the message names the error, the provider's own words and what to do.
llmkit's own warnings (a deprecated model) become one `llmkit: warning: ...` line too, but
only while a command runs: library users keep Python's warning display untouched.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from .._errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConfigError,
    ConnectionError,
    ContentFilterError,
    ContextLengthError,
    LLMKitError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamError,
    TimeoutError,
    UnsupportedFeatureError,
)

__all__ = [
    "EXIT_CODES",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "InputError",
    "error_line",
    "exit_code",
    "warning_lines",
]


class InputError(Exception):
    """The command line or its input (stdin, a file) cannot be used; exits with EXIT_USAGE."""


EXIT_OK = 0
EXIT_ERROR = 1  # any other llmkit error; `doctor` found a problem
EXIT_USAGE = 2  # bad command line or unreadable input (argparse uses 2 too)
EXIT_INTERRUPTED = 130  # Ctrl-C, the shell convention 128 + SIGINT

# Most specific first: subclasses (ContextLengthError is a BadRequestError) come before parents.
EXIT_CODES: tuple[tuple[type[LLMKitError], int, str], ...] = (
    (ConfigError, 3, "`llmkit doctor` shows what is configured"),
    (AuthenticationError, 4, "check the provider's API key (`llmkit doctor` names its env var)"),
    (RateLimitError, 5, "slow down and retry later"),
    (ContextLengthError, 6, "shorten the prompt or lower --max-tokens"),
    (ContentFilterError, 6, "the provider's safety filter blocked it; rephrase the prompt"),
    (BadRequestError, 6, "the provider rejected the request; retrying will not help"),
    (NotFoundError, 7, "check the model id with `llmkit models`"),
    (ServerError, 8, "the provider failed or is overloaded; retry later"),
    (TimeoutError, 9, "the provider did not answer in time; retry or check the network"),
    (ConnectionError, 9, "the provider could not be reached; check the network or its base URL"),
    (StreamError, 10, "the stream broke midway; retry"),
    (UnsupportedFeatureError, 11, "pick a model that has the feature (`llmkit models`)"),
    (BudgetExceededError, 12, "raise the budget or use a cheaper model"),
)


def _entry(exc: LLMKitError) -> tuple[int, str]:
    for cls, code, hint in EXIT_CODES:
        if isinstance(exc, cls):
            return code, hint
    return EXIT_ERROR, ""


def exit_code(exc: LLMKitError) -> int:
    """The documented exit code of an llmkit error."""
    return _entry(exc)[0]


def error_line(exc: LLMKitError) -> str:
    """`llmkit: <ErrorType>: <what happened> (<what to do>)`, on one line."""
    hint = _entry(exc)[1]
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        hint = f"slow down; the provider asks to retry after {exc.retry_after:g} s"
    message = " ".join(str(exc).split())  # provider messages can span lines
    return f"llmkit: {type(exc).__name__}: {message}" + (f" ({hint})" if hint else "")


def warning_line(message: Warning | str) -> str:
    """`llmkit: warning: <message>`, on one line."""
    return "llmkit: warning: " + " ".join(str(message).split())


@contextmanager
def warning_lines() -> Iterator[None]:
    """While the block runs, llmkit's own warnings print as `warning_line` on stderr (no file
    path, no source line); other packages' warnings keep Python's own format."""
    with warnings.catch_warnings():
        previous = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if category.__module__.split(".")[0] == "llmkit":
                print(warning_line(message), file=sys.stderr)
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield
