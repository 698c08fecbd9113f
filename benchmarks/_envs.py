"""One virtualenv per benchmarked client, built from pinned PyPI versions under `.bench/`.

Why separate venvs: LiteLLM pulls in the openai SDK, pydantic, aiohttp and more; measured in
one interpreter, llmkit's import and RSS would be inflated by whatever another client loaded
first. Each venv holds one client (llmkit is installed from this checkout as a wheel, the way
users get it, so its timings include no editable-install finder). A venv is rebuilt only when
its pinned requirements change; llmkit is reinstalled from the checkout on every run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CLIENT_PINS", "ROOT", "Env", "build_env", "package_versions"]

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".bench" / "venvs"

# The versions a user would install today; bump deliberately, the report prints them.
CLIENT_PINS: dict[str, list[str]] = {
    "httpx": ["httpx==0.28.1"],
    "llmkit": [],  # the checkout itself, with its dependencies pinned by requirements/dev.lock
    "openai": ["openai==3.57.0"],
    "anthropic": ["anthropic==2.14.0"],
    "litellm": ["litellm==1.110.2"],
}
_REPORTED = [
    "httpx",
    "httpx2",
    "httpcore",
    "h11",
    "aiohttp",
    "attrs",
    "cattrs",
    "pydantic",
    "llmkit",
    "openai",
    "anthropic",
    "litellm",
]


@dataclass
class Env:
    """A client's venv: its python, or why it could not be built."""

    name: str
    python: Path
    error: str | None = None
    versions: dict[str, str] = field(default_factory=dict)


def _pip(python: Path, *args: str) -> None:
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        raise RuntimeError(lines[-1] if lines else f"pip exited {proc.returncode}")


def build_env(name: str, *, reuse: bool = False, log: bool = True) -> Env:
    """Create or refresh one client's venv; never raises, an install failure is reported as data."""
    path = BUILD / name
    python = path / "bin" / "python"
    wanted = "\n".join(CLIENT_PINS[name]) + "\n"
    marker = path / ".bench-pins"
    env = Env(name, python)
    try:
        fresh = not (python.exists() and marker.exists() and marker.read_text() == wanted)
        if fresh:
            if log:
                print(f"  building venv {name} ...", file=sys.stderr, flush=True)
            venv.EnvBuilder(clear=True, with_pip=True).create(path)
            if name == "llmkit":
                _pip(python, "-c", str(ROOT / "requirements" / "dev.lock"), str(ROOT))
            else:
                _pip(python, *CLIENT_PINS[name])
            marker.write_text(wanted)
        elif name == "llmkit" and not reuse:
            # the checkout changes between runs: rebuild the wheel, keep the pinned dependencies
            _pip(python, "--no-deps", "--force-reinstall", str(ROOT))
        env.versions = package_versions(python)
    except Exception as exc:  # a client that PyPI cannot give us is a row in the report, not a crash
        env.error = f"{type(exc).__name__}: {exc}"[:300]
        marker.unlink(missing_ok=True)
    return env


def package_versions(python: Path) -> dict[str, str]:
    """Installed versions of the packages the report names, as seen from inside the venv."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        f"for name in {_REPORTED!r}:\n"
        "    try: out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    # cwd outside the checkout: `-c` puts the cwd on sys.path, and the checkout's egg-info would show up
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, cwd=BUILD)
    versions: dict[str, str] = json.loads(proc.stdout)
    return versions
