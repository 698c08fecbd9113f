"""`llmkit ollama ...`: manage the models of an Ollama server through `client.native("ollama")`.

    llmkit ollama pull MODEL       download a model, with a progress bar (the NDJSON pull stream)
    llmkit ollama list             the models pulled to the server
    llmkit ollama ps               the models loaded in memory now
    llmkit ollama show MODEL       a model's details, capabilities and parameters
    llmkit ollama cp SOURCE DEST   copy a model under a new name
    llmkit ollama rm MODEL         delete a model
    llmkit ollama version          the server's version

The server is OLLAMA_BASE_URL (default http://localhost:11434) or `--base-url`; OLLAMA_API_KEY is
sent when set (Ollama Cloud, or a server behind an authenticating proxy). Progress goes to
stderr (a bar on a terminal, a line per step otherwise); results go to stdout. A model the
registry does not have exits 7, like any other not-found error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, cast

from .._errors import APIError, NotFoundError
from .._wire import unstructure
from ._exit import EXIT_OK
from ._term import ProgressBar, Style, fmt_bytes, render_table

if TYPE_CHECKING:
    from ..generated.providers.ollama import OllamaClient
    from ..generated.wire.ollama import ProgressEvent

__all__ = ["register", "run"]

# Go's os.ErrNotExist, which Ollama wraps when the registry has no such manifest.
_NOT_EXIST = "file does not exist"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "ollama",
        help="manage an Ollama server's models: pull (with progress), list, ps, show, cp, rm, version",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--base-url", help="the Ollama server (default: OLLAMA_BASE_URL, else http://localhost:11434)")
    cmds = p.add_subparsers(dest="ollama_command", metavar="ACTION", required=True)
    pull = cmds.add_parser("pull", help="download a model from the registry, showing progress")
    pull.add_argument("model", help="e.g. llama3.2 or qwen3:8b")
    pull.add_argument("--insecure", action="store_true", help="allow an insecure (http) registry")
    for name, helptext in (("list", "the models pulled to the server"), ("ps", "the models loaded in memory")):
        c = cmds.add_parser(name, help=helptext)
        c.add_argument("--json", action="store_true", help="print the server's answer as JSON")
    show = cmds.add_parser("show", help="a model's details, capabilities and parameters")
    show.add_argument("model")
    show.add_argument("--json", action="store_true", help="print the server's whole answer as JSON")
    cp = cmds.add_parser("cp", help="copy a model under a new name")
    cp.add_argument("source")
    cp.add_argument("destination")
    rm = cmds.add_parser("rm", help="delete a model")
    rm.add_argument("model")
    cmds.add_parser("version", help="the server's version")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._client import Client

    settings: dict[str, dict[str, Any]] = {"ollama": {"base_url": args.base_url}} if args.base_url else {}
    with Client(providers=settings) as client:
        native = cast("OllamaClient", client.native("ollama"))
        action = args.ollama_command
        if action == "pull":
            return _pull(native, args.model, args.insecure)
        if action in ("list", "ps"):
            return _models(native, action, args.json)
        if action == "show":
            return _show(native, args.model, args.json)
        if action == "cp":
            native.copy(source=args.source, destination=args.destination)
            print(f"copied '{args.source}' to '{args.destination}'")
        elif action == "rm":
            native.delete(model=args.model)
            print(f"deleted '{args.model}'")
        else:
            print(native.version().version or "unknown")
    return EXIT_OK


class _PullProgress:
    """Pull events on stderr: a bar per layer on a terminal; a line per step and per 10% otherwise."""

    def __init__(self) -> None:
        self.err = sys.stderr
        self.bar = ProgressBar(self.err)
        self.status: str | None = None
        self.decile = -1

    def __call__(self, ev: ProgressEvent) -> None:
        status = ev.status or ""
        if ev.total:
            done = ev.completed or 0
            pct = 100 * done // ev.total
            label = f"{status}: {pct}% ({fmt_bytes(done)} of {fmt_bytes(ev.total)})"
            if status != self.status:
                self.decile = -1
            self.status = status
            if self.bar.tty:
                self.bar.draw(done, ev.total, label)
            elif pct // 10 != self.decile:
                self.err.write(label + "\n")
            self.decile = pct // 10
            return
        if status != self.status:
            self.bar.close()
            self.err.write(status + "\n")
            self.status = status

    def close(self) -> None:
        self.bar.close()


def _pull(native: OllamaClient, model: str, insecure: bool) -> int:
    progress = _PullProgress()
    last: str | None = None
    try:
        fields: dict[str, Any] = {"insecure": True} if insecure else {}
        for ev in native.pull_stream(model=model, **fields):
            if ev.status == "success":
                last = ev.status
                continue  # printed on stdout below, once the bar's line is closed
            progress(ev)
    except APIError as exc:
        # An unknown model is an error line under HTTP 200 ("pull model manifest: file does not
        # exist"): a not-found, so scripts get the not-found exit code.
        if exc.status is None and _NOT_EXIST in str(exc):
            raise NotFoundError(exc.message, provider="ollama", body=exc.body) from exc
        raise
    finally:
        progress.close()
    if last != "success":
        raise APIError(f"the pull of {model!r} ended without Ollama's `success` line", provider="ollama")
    print("success")
    return EXIT_OK


def _models(native: OllamaClient, action: str, as_json: bool) -> int:
    answer = native.list_models() if action == "list" else native.ps()
    if as_json:
        print(json.dumps(unstructure(answer), ensure_ascii=False, indent=2))
        return EXIT_OK
    rows = []
    for m in answer.models or []:
        ident = (m.digest or "").removeprefix("sha256:")[:12]
        size = fmt_bytes(m.size) if m.size is not None else "-"
        last = getattr(m, "modified_at", None) if action == "list" else getattr(m, "expires_at", None)
        rows.append([m.name or m.model or "-", ident, size, last or "-"])
    headers = ["NAME", "ID", "SIZE", "MODIFIED" if action == "list" else "UNTIL"]
    print(render_table(headers, rows, Style(sys.stdout), right=(2,)))
    return EXIT_OK


def _show(native: OllamaClient, model: str, as_json: bool) -> int:
    info = native.show(model=model)
    if as_json:
        print(json.dumps(unstructure(info), ensure_ascii=False, indent=2))
        return EXIT_OK
    d = info.details
    facts = info.model_info or {}
    arch = str(facts.get("general.architecture") or (d.family if d else "") or "")
    rows = [
        ["architecture", arch or "-"],
        ["parameters", (d.parameter_size if d else None) or "-"],
        ["context length", str(facts.get(f"{arch}.context_length", "-"))],
        ["quantization", (d.quantization_level if d else None) or "-"],
        ["capabilities", ", ".join(info.capabilities or []) or "-"],
    ]
    print(render_table(["MODEL", model], rows, Style(sys.stdout)))
    if info.parameters:
        print("\nParameters")
        for line in info.parameters.splitlines():
            print("  " + " ".join(line.split()))
    return EXIT_OK
