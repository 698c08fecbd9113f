"""Command line: `python -m codegen generate | check | diff OLD NEW [--markdown]`."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .diff import load_tree, render_markdown, spec_changes
from .render import compare, render_tree, sync
from .spec import SpecError

ROOT = Path(__file__).resolve().parent.parent


def _targets(out: Path, root: Path) -> list[tuple[Path, Path]]:
    return [
        (out / "generated", root / "generated"),
        (out / "docs" / "providers", root / "docs" / "providers"),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    ap.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("generate", help="render specs into generated/ and docs/providers/")
    sub.add_parser("check", help="fail if generated/ differs from a fresh render")
    d = sub.add_parser("diff", help="summarise spec changes between two trees or git revisions")
    d.add_argument("old")
    d.add_argument("new")
    d.add_argument("--markdown", action="store_true", help="format for a pull-request comment")
    args = ap.parse_args(argv)
    root: Path = args.root.resolve()

    if args.cmd == "diff":
        changes = spec_changes(load_tree(args.old, root), load_tree(args.new, root))
        if args.markdown:
            print(render_markdown(changes))
        elif changes:
            print("\n".join(("! " if ch.breaking else "  ") + ch.line for ch in changes))
            if any(ch.breaking for ch in changes):
                print("(! = can break users: a removal, or a new base URL, dialect, auth or endpoint path)")
        else:
            print("no spec changes")
        return 0

    with tempfile.TemporaryDirectory(prefix="llmkit-codegen-") as tmp:
        out = Path(tmp)
        try:
            render_tree(root, out)
        except SpecError as exc:
            print(f"codegen: invalid spec: {exc}", file=sys.stderr)
            return 2
        pairs = _targets(out, root)
        features = (out / "docs" / "features.md", root / "docs" / "features.md")
        if args.cmd == "generate":
            changed = [c for src, dst in pairs for c in sync(src, dst)]
            if not features[1].exists() or features[1].read_bytes() != features[0].read_bytes():
                features[1].write_bytes(features[0].read_bytes())
                changed.append("wrote docs/features.md")
            print(f"codegen: {len(changed)} file(s) changed" + "".join(f"\n  {c}" for c in changed))
            return 0
        problems = [p for src, dst in pairs for p in compare(src, dst)]
        if not features[1].exists() or features[1].read_bytes() != features[0].read_bytes():
            problems.append("docs/features.md: differs from what `make generate` writes")
        if problems:
            print("codegen check failed: generated files are not what the specs say:", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
            return 1
        print("codegen check: generated/ and docs/providers/ match the specs")
        return 0


if __name__ == "__main__":
    sys.exit(main())
