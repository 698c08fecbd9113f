"""The `llmkit` command line: chat with any model, browse the catalog, check your setup.

    llmkit chat openai/gpt-4o-mini "Say hi"      stream an answer (stdin when no prompt)
    llmkit batch openai/gpt-4o-mini in.jsonl     submit a batch, print its results as JSONL
    llmkit providers                             providers, capabilities, env vars set or not
    llmkit models --provider anthropic           limits, prices, capabilities, lifecycle
    llmkit doctor [--check]                      what is configured, what is missing
    llmkit ollama pull llama3.2                  pull a model (progress bar); also list, ps, show, cp, rm
    llmkit emulator [--port N]                   the local provider emulator, in the foreground

Keys and endpoints come from the env vars each provider's spec names (`llmkit doctor` lists
them). Exit codes: 0 ok, 1 other error or a doctor problem, 2 bad usage or input, 3 config,
4 authentication, 5 rate limit, 6 bad request, 7 not found, 8 server error, 9 timeout or
connection, 10 broken stream, 11 unsupported feature, 12 budget, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._errors import LLMKitError
from .._version import __version__
from . import _batch, _catalog_cmds, _chat, _doctor, _ollama
from ._exit import EXIT_CODES, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, InputError, error_line, exit_code, warning_lines

__all__ = ["EXIT_CODES", "build_parser", "main"]


def _run_emulator(args: argparse.Namespace) -> int:
    from ..testing.__main__ import main as emulator_main

    return emulator_main(["--port", str(args.port)])


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; each subcommand sets `func`, which returns an exit code."""
    ap = argparse.ArgumentParser(
        prog="llmkit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("-V", "--version", action="version", version=f"llmkit {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _chat.register(sub)
    _batch.register(sub)
    _catalog_cmds.register(sub)
    _doctor.register(sub)
    _ollama.register(sub)
    emu = sub.add_parser(
        "emulator",
        help="run the llmkit.testing emulator in the foreground (prints its URL, Ctrl-C stops it)",
        description="Serve the strict provider emulator on 127.0.0.1 for other tools and languages. The "
        "first line printed is its URL; point OPENAI_BASE_URL at <URL>/openai/v1, ANTHROPIC_BASE_URL at "
        "<URL>/anthropic and GEMINI_BASE_URL at <URL>/gemini/v1beta; any non-empty API key is accepted.",
    )
    emu.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    emu.set_defaults(func=_run_emulator)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (the console script passes it to sys.exit)."""
    args = build_parser().parse_args(argv)
    try:
        with warning_lines():
            code: int = args.func(args)
        return code
    except InputError as exc:
        print(f"llmkit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LLMKitError as exc:
        print(error_line(exc), file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("llmkit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `llmkit models | head`: the reader left. Stop quietly like other Unix tools, and point
        # stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
