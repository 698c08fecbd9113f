"""The static docs site builds, strictly (a broken link fails), with the pinned mkdocs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_docs_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the `docs` extra is not installed; `make docs` installs it")
    site = tmp_path / "site"
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    for page in ("index.html", "quickstart/index.html", "api/index.html", "cli/index.html", "testing/index.html"):
        assert (site / page).is_file(), page
    assert (site / "features" / "index.html").is_file() and (site / "providers" / "openai" / "index.html").is_file()
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert 'id="fallback-chains"' in api  # the anchor errors.md links to
    assert "cdnjs" not in api  # self-contained: no script from a CDN
