"""The sdist and the wheel built from it install into a clean venv and work there.

`python -m build` builds the sdist, then the wheel from the unpacked sdist, so a file missing
from the sdist fails here. The venv has no system site-packages and gets llmkit's runtime
dependencies from the index pip is configured with, pinned by requirements/dev.lock.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "llmkit" / "_version.py").read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


def _run(*cmd: str | Path, cwd: Path | None = None) -> str:
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_sdist_and_wheel_install_in_a_clean_venv(tmp_path: Path) -> None:
    version = _version()
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
    sdist = dist / f"llmkit-{version}.tar.gz"
    wheel = dist / f"llmkit-{version}-py3-none-any.whl"
    assert sorted(p.name for p in dist.iterdir()) == sorted([sdist.name, wheel.name])

    with tarfile.open(sdist) as tf:
        sdist_names = tf.getnames()
    for required in (
        "README.md",
        "pyproject.toml",
        "llmkit/_version.py",
        "llmkit/cli/__init__.py",
        "generated/catalog.py",
    ):
        assert f"llmkit-{version}/{required}" in sdist_names, required

    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = Parser().parsestr(zf.read(f"llmkit-{version}.dist-info/METADATA").decode())
        entry_points = zf.read(f"llmkit-{version}.dist-info/entry_points.txt").decode()
    assert "llmkit/cli/__main__.py" in names and "llmkit/py.typed" in names
    assert meta["Version"] == version and meta["Requires-Python"] == ">=3.11"
    assert "Programming Language :: Python :: 3.11" in meta.get_all("Classifier")
    assert not any(c.endswith(("3.10", "3.12", "3.13")) for c in meta.get_all("Classifier"))
    assert {"cli", "bedrock", "vertex", "docs"} <= set(meta.get_all("Provides-Extra"))
    assert "[console_scripts]\nllmkit = llmkit.cli:main" in entry_points

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    py = env_dir / "bin" / "python"
    _run(py, "-m", "pip", "install", "--quiet", "-c", ROOT / "requirements" / "dev.lock", wheel)

    code = (
        "import importlib.metadata as md, sys, llmkit\n"
        "from llmkit.testing import emulator\n"
        "assert llmkit.__file__.startswith(sys.prefix), llmkit.__file__\n"
        "with emulator() as emu, emu.client() as client:\n"
        "    resp = client.chat('openai/gpt-4o-mini', 'packaged')\n"
        "print(md.version('llmkit'), resp.text)\n"
    )
    assert _run(py, "-c", code, cwd=tmp_path) == f"{version} You said: packaged\n"
    assert _run(env_dir / "bin" / "llmkit", "--version", cwd=tmp_path) == f"llmkit {version}\n"
    models = _run(env_dir / "bin" / "llmkit", "models", "--provider", "openai", cwd=tmp_path)
    assert models.splitlines()[0].startswith("MODEL") and "openai/gpt-4o-mini" in models
