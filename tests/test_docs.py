"""Every Python example in README.md and docs/ runs, against the emulator, as written.

Keys and base URLs come from the env vars the specs name, exactly as a user's would.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str]]:
    out = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for i, code in enumerate(_BLOCK.findall(path.read_text(encoding="utf-8"))):
            out.append((f"{path.relative_to(ROOT)}#{i}", code))
    return out


EXAMPLES = _examples()


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 7


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_runs(where: str, code: str, emu, monkeypatch) -> None:
    from llmkit._registry import known_provider_ids, provider_spec

    served = emu.providers_config()
    for pid in known_provider_ids():
        if pid not in served:
            continue
        spec = provider_spec(pid)
        for s in spec.settings:
            if s.name == "api_key" and s.env:
                monkeypatch.setenv(s.env[0], emu.api_key)
            if s.name == "base_url" and s.env:
                monkeypatch.setenv(s.env[0], emu.base_url(pid))
            if s.name.endswith("_base_url") and s.env and s.name in served[pid]:
                monkeypatch.setenv(s.env[0], served[pid][s.name])  # an operation's own host
            token_path = getattr(emu._handlers[pid], "token_path", None)
            if s.name == "auth_url" and s.env and token_path:
                monkeypatch.setenv(s.env[0], emu.base_url(pid) + token_path)
    # A real module, compiled without this file's __future__ flags: dataclasses and attrs
    # resolve annotations through sys.modules, exactly as in a user's script.
    module = types.ModuleType("__docs__")
    monkeypatch.setitem(sys.modules, "__docs__", module)
    exec(compile(code, where, "exec", dont_inherit=True), module.__dict__)
    if "emulator()" not in code:  # examples that start their own emulator check themselves
        assert emu.requests, f"{where} sent no request"
