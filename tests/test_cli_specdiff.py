"""`python -m codegen diff`: the reviewer's summary, as text and as a pull-request comment."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from codegen.__main__ import main
from codegen.diff import render_markdown, spec_changes

ROOT = Path(__file__).resolve().parent.parent


def _spec(models: list[dict], **extra: object) -> dict:
    return {
        "id": "acme",
        "base_url": "https://api.acme.test/v1",
        "dialect": "openai_chat",
        "auth": {"scheme": "header", "header": "Authorization", "prefix": "Bearer "},
        "settings": {"api_key": {"env": ["ACME_API_KEY"], "secret": True}},
        "operations": {"chat": {"method": "POST", "path": "/chat/completions"}},
        "capabilities": {"tools": True},
        "models": models,
        **extra,
    }


OLD = {
    "acme": _spec(
        [
            {"id": "a-1", "context_window": 8000, "price": {"input": 1.0, "output": 2.0}},
            {"id": "a-2", "context_window": 32000, "price": {"input": 4.0, "output": 8.0}},
        ]
    ),
    "gone": _spec([]),
}
NEW = {
    "acme": {
        **_spec(
            [
                {"id": "a-1", "context_window": 16000, "price": {"input": 1.5, "output": 2.0}},
                {"id": "a-3", "context_window": 128000, "price": {"input": 0.5, "output": 1.0}},
            ],
            base_url="https://eu.acme.test/v1",
        ),
        "settings": {"api_key": {"env": ["ACME_API_KEY", "ACME_KEY"], "secret": True}},
        "operations": {"chat": {"method": "POST", "path": "/v2/chat"}, "embed": {"method": "POST", "path": "/embed"}},
        "capabilities": {"tools": True, "vision": True},
    },
    "fresh": _spec([{"id": "f-1"}]),
}


def test_changes_are_complete_and_flag_what_can_break() -> None:
    lines = [("!" if ch.breaking else " ") + " " + ch.line for ch in spec_changes(OLD, NEW)]
    assert lines == [
        "  provider added `fresh` (1 models)",
        "! provider removed `gone`",
        "! acme: base_url https://api.acme.test/v1 -> https://eu.acme.test/v1",
        "  acme: endpoint added `embed` POST /embed",
        "! acme: endpoint `chat` path /chat/completions -> /v2/chat",
        "  acme: capability vision - -> True",
        "  acme: setting `api_key` env ['ACME_API_KEY'] -> ['ACME_API_KEY', 'ACME_KEY']",
        "  acme: model added `a-3` (context 128000, input 0.5, output 1.0 per M tokens)",
        "! acme: model removed `a-2`",
        "  acme/a-1: input price 1.0 -> 1.5",
        "  acme/a-1: context_window 8000 -> 16000",
    ]


def test_markdown_comment() -> None:
    assert render_markdown(spec_changes(OLD, NEW)) == "\n".join(
        [
            "### Spec changes",
            "",
            "11 change(s) across 3 provider(s), **4 that can break users**.",
            "",
            "- provider added `fresh` (1 models)",
            "- provider removed `gone`",
            "",
            "#### Can break users",
            "",
            "- :warning: provider removed `gone`",
            "- :warning: acme: base_url https://api.acme.test/v1 -> https://eu.acme.test/v1",
            "- :warning: acme: endpoint `chat` path /chat/completions -> /v2/chat",
            "- :warning: acme: model removed `a-2`",
            "",
            "#### `acme`",
            "",
            "- base_url https://api.acme.test/v1 -> https://eu.acme.test/v1",
            "- endpoint added `embed` POST /embed",
            "- endpoint `chat` path /chat/completions -> /v2/chat",
            "- capability vision - -> True",
            "- setting `api_key` env ['ACME_API_KEY'] -> ['ACME_API_KEY', 'ACME_KEY']",
            "- model added `a-3` (context 128000, input 0.5, output 1.0 per M tokens)",
            "- model removed `a-2`",
            "- `a-1`: input price 1.0 -> 1.5 (+50%)",
            "- `a-1`: context_window 8000 -> 16000",
            "",
            "_Check each change against the provider's own documentation before approving._",
        ]
    )
    assert render_markdown([]) == "### Spec changes\n\n_No spec changes._"


def test_command_line_on_two_trees(tmp_path: Path, capsys) -> None:
    for name, tree in (("old", OLD), ("new", NEW)):
        folder = tmp_path / name / "specs" / "providers"
        folder.mkdir(parents=True)
        for pid, spec in tree.items():
            (folder / f"{pid}.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "  provider added `fresh` (1 models)" and out[1] == "! provider removed `gone`"
    assert out[-1] == "(! = can break users: a removal, or a new base URL, dialect, auth or endpoint path)"
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "old"), "--markdown"]) == 0
    assert capsys.readouterr().out == "### Spec changes\n\n_No spec changes._\n"


def test_a_real_spec_against_itself_changed(tmp_path: Path, capsys) -> None:
    """The real openai spec: a price cut and a retirement read as a reviewer needs them."""
    old = tmp_path / "old"
    shutil.copytree(ROOT / "specs" / "providers", old)
    new = tmp_path / "new"
    shutil.copytree(old, new)
    spec = yaml.safe_load((new / "openai.yaml").read_text(encoding="utf-8"))
    mini = next(m for m in spec["models"] if m["id"] == "gpt-4o-mini")
    before, replaced = mini["price"]["input"], mini["lifecycle"].get("replacement") or "-"
    mini["price"]["input"] = before / 2
    mini["lifecycle"] = {**mini["lifecycle"], "retires": "2026-12-01", "replacement": "gpt-4.1-mini"}
    (new / "openai.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert main(["diff", str(old), str(new), "--markdown"]) == 0
    out = capsys.readouterr().out
    assert f"- `gpt-4o-mini`: input price {before} -> {before / 2} (-50%)" in out
    assert "- :warning: openai/gpt-4o-mini: lifecycle retires 2027-01-14 -> 2026-12-01" in out
    assert f"- `gpt-4o-mini`: lifecycle replacement {replaced} -> gpt-4.1-mini" in out
    assert "deprecated" not in out  # an unchanged field is not reported
