"""The built wheel carries all three import roots and py.typed, and imports from itself."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_imports_all_three_roots(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("llmkit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for required in (
        "llmkit/py.typed",
        "llmkit/generated/dispatch.py",
        "llmkit/generated/providers/openai.py",
        "llmkit/generated/wire/openai_chat.py",
        "llmkit/overrides/__init__.py",
        "llmkit/dialects/openai_chat.py",
        "llmkit/testing/_openai_emu.py",
    ):
        assert required in names, required
    assert not any(n.startswith(("codegen/", "tests/", "specs/")) for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import llmkit, llmkit.generated.providers.openai as p, llmkit.overrides; "
        "print(llmkit.__file__); print(p.SPEC.id)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    file, pid = out.stdout.split()
    assert file.startswith(str(site)) and pid == "openai"
