"""`llmkit ollama ...` end to end against the emulated Ollama server: the exact requests sent, the
pull's NDJSON progress shown as steps (a bar on a terminal), the results printed, and Ollama's
own errors with the documented exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from llmkit.cli import main
from llmkit.testing._ollama_emu import _digest


@pytest.fixture
def env(emu: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OLLAMA_BASE_URL", emu.base_url("ollama"))
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    return emu


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["ollama", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


PULL_STEPS = (
    "pulling manifest\n"
    "pulling {d}: 0% (0 B of 2.0 GB)\n"
    "pulling {d}: 50% (1.0 GB of 2.0 GB)\n"
    "pulling {d}: 100% (2.0 GB of 2.0 GB)\n"
    "verifying sha256 digest\n"
    "writing manifest\n"
)


def _layer(name: str) -> str:
    """The layer a pull of `name` reports: `pulling <digest[7:19]>`, as Ollama shows it."""
    return _digest(name)[7:19]


def test_pull_shows_progress_then_success(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "pull", "qwen3:8b")
    req = env.last_request
    assert (req.method, req.path, req.json()) == ("POST", "/ollama/api/pull", {"model": "qwen3:8b", "stream": True})
    assert "authorization" not in req.headers  # a local Ollama takes no key
    assert (code, out) == (0, "success\n")
    assert err == PULL_STEPS.format(d=_layer("qwen3:8b"))


def test_pull_draws_a_bar_on_a_terminal(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    assert main(["ollama", "pull", "llama3.1", "--insecure"]) == 0
    assert env.last_request.json() == {"model": "llama3.1", "insecure": True, "stream": True}
    text = tty.getvalue()
    d = _layer("llama3.1:latest")
    assert text.startswith("pulling manifest\n\r[")
    assert f"\r[{'.' * 30}] pulling {d}: 0% (0 B of 2.0 GB)" in text
    assert f"\r[{'#' * 15}{'.' * 15}] pulling {d}: 50% (1.0 GB of 2.0 GB)" in text
    assert f"\r[{'#' * 30}] pulling {d}: 100% (2.0 GB of 2.0 GB)\x1b[K\nverifying sha256 digest\n" in text
    assert text.endswith("writing manifest\n")


def test_pull_of_an_unknown_model_is_ollamas_error_and_exit_7(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "pull", "no-such-model")
    assert env.last_request.json() == {"model": "no-such-model", "stream": True}
    assert (code, out) == (7, "")
    # (The emulator's server thread may log the connection llmkit closed after the error line.)
    ours = [line for line in err.splitlines() if line == "pulling manifest" or line.startswith("llmkit:")]
    assert ours == [
        "pulling manifest",
        "llmkit: NotFoundError: [ollama] pull model manifest: file does not exist "
        "(check the model id with `llmkit models`)",
    ]
    code, _, _ = run(capsys, "show", "no-such-model")
    assert code == 7  # never pulled: the pull really failed


def test_list_ps_show(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0 and (env.last_request.method, env.last_request.path) == ("GET", "/ollama/api/tags")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    row = next(line.split() for line in lines if line.startswith("llama3.2:latest "))
    assert row[1] == _digest("llama3.2:latest")[7:19] and row[2:4] == ["2.0", "GB"]
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0 and "llama3.2:latest" in {m["name"] for m in json.loads(out)["models"]}

    code, out, _ = run(capsys, "ps")
    assert (code, out.split()) == (0, ["NAME", "ID", "SIZE", "UNTIL"])  # nothing loaded yet
    env.client().chat("ollama/llama3.2", "Hi")  # a chat loads the model
    code, out, _ = run(capsys, "ps")
    assert env.last_request.path == "/ollama/api/ps"
    assert out.splitlines()[1].split()[0] == "llama3.2:latest"

    code, out, _ = run(capsys, "show", "llama3.2")
    assert (env.last_request.method, env.last_request.json()) == ("POST", {"model": "llama3.2"})
    assert code == 0
    facts = dict(line.split(None, 1) for line in out.splitlines()[1:6] if line)
    assert facts["architecture"] == "llama" and facts["parameters"] == "3.2B"
    assert "context length  131072" in out and "capabilities    completion, tools" in out
    assert out.endswith('Parameters\n  num_ctx 4096\n  stop "<|eot_id|>"\n')


def test_cp_rm_version(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "cp", "llama3.2", "mine") == (0, "copied 'llama3.2' to 'mine'\n", "")
    assert env.last_request.json() == {"source": "llama3.2", "destination": "mine"}
    assert run(capsys, "rm", "mine") == (0, "deleted 'mine'\n", "")
    req = env.last_request
    assert (req.method, req.path, req.json()) == ("DELETE", "/ollama/api/delete", {"model": "mine"})
    code, out, err = run(capsys, "rm", "mine")
    assert (code, out) == (7, "")
    assert "NotFoundError: [ollama HTTP 404] model 'mine' not found" in err
    assert run(capsys, "version") == (0, "0.12.6\n", "")


def test_base_url_option_and_an_unreachable_server(
    emu: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    assert run(capsys, "--base-url", emu.base_url("ollama"), "version") == (0, "0.12.6\n", "")
    code, out, err = run(capsys, "--base-url", "http://127.0.0.1:9", "version")
    assert (code, out) == (9, "")
    assert err.startswith("llmkit: ConnectionError:")


def test_a_real_process_pulls_from_the_emulator(emu: Any) -> None:
    env = {**os.environ, "OLLAMA_BASE_URL": emu.base_url("ollama"), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "llmkit.cli", "ollama", "pull", "gemma3:4b"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "success\n")
    assert "pulling manifest\n" in done.stderr and "100% (2.0 GB of 2.0 GB)" in done.stderr
    assert emu.last_request.json() == {"model": "gemma3:4b", "stream": True}
