"""The `llmkit` command line, end to end against the emulator: `main(argv)` in-process with the
provider env vars pointing at the emulator, as a user's shell would set them."""

from __future__ import annotations

import base64
import io
import json

import pytest

import llmkit
from llmkit.cli import EXIT_CODES, main
from llmkit.cli._exit import error_line, exit_code
from llmkit.cli._term import Style, fmt_int, fmt_price, render_table


@pytest.fixture
def env(emu, monkeypatch):  # type: ignore[no-untyped-def]
    """OpenAI and Anthropic configured from env vars and served by the emulator; Gemini not."""
    for prefix, pid in (("OPENAI", "openai"), ("ANTHROPIC", "anthropic")):
        monkeypatch.setenv(f"{prefix}_API_KEY", "cli-key")
        monkeypatch.setenv(f"{prefix}_BASE_URL", emu.base_url(pid))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return emu


# Doctor tests name their providers, so specs added later (some need no key) do not change them.
THREE = ("-p", "anthropic", "-p", "gemini", "-p", "openai")
# gpt-4o-mini is deprecated on the suite's day: the CLI says so once per command, on one line.
MINI_WARNING = (
    "llmkit: warning: model openai/gpt-4o-mini was deprecated on 2026-10-14; retires on 2027-01-14; "
    "use openai/gpt-6-luna instead\n"
)


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# -- chat ----------------------------------------------------------------------------------------


def test_chat_streams_the_answer(env, capsys) -> None:
    code, out, err = run(capsys, "chat", "openai/gpt-4o-mini", "Hello there", "-m", "50", "-t", "0.5")
    assert (code, out, err) == (0, "You said: Hello there\n", MINI_WARNING)
    body = env.last_request.json()
    assert body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "Hello there"}]
    assert body["max_completion_tokens"] == 50 and body["temperature"] == 0.5
    assert env.last_request.headers["authorization"] == "Bearer cli-key"


def test_chat_json_prints_the_whole_response(env, capsys) -> None:
    code, out, _ = run(capsys, "chat", "anthropic/claude-haiku-4-5", "Hi", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["text"] == "You said: Hi"
    assert data["provider"] == "anthropic"
    assert data["finish_reason"] == "stop" and data["raw_finish_reason"] == "end_turn"
    assert data["message"] == {"role": "assistant", "content": "You said: Hi"}
    assert data["usage"] == {
        "input_tokens": 1,
        "output_tokens": 3,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert data["cost_usd"] == pytest.approx((1 * 1.0 + 3 * 5.0) / 1e6)
    assert data["raw"]["type"] == "message"
    assert "stream" not in env.last_request.json()


def test_chat_reads_stdin_with_a_system_prompt(env, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("from a pipe\n"))
    code, out, _ = run(capsys, "chat", "openai/gpt-4o-mini", "-", "--system", "Be brief", "--no-stream", "--usage")
    assert code == 0
    assert out == "You said: from a pipe\n"
    assert env.last_request.json()["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "from a pipe\n"},
    ]
    assert capsys.readouterr().err == ""  # the usage line was already read with the output


def test_chat_usage_line(env, capsys) -> None:
    code, _, err = run(capsys, "chat", "openai/gpt-4o-mini", "one two", "--no-stream", "--usage")
    assert code == 0
    assert err == MINI_WARNING + "openai/gpt-4o-mini: 2 input + 4 output tokens, $0.000003, finish_reason=stop\n"


def test_chat_warns_when_the_answer_is_cut_off(env, capsys) -> None:
    code, out, err = run(capsys, "chat", "openai/gpt-4o-mini", "a b c d e", "--max-tokens", "2")
    assert (code, out) == (0, "You said:\n")
    assert err == MINI_WARNING + "llmkit: the answer was cut off at the token limit (raise --max-tokens)\n"


def test_chat_attaches_images(env, capsys, tmp_path) -> None:
    png = tmp_path / "cat.png"
    png.write_bytes(b"\x89PNG fake")
    code, out, _ = run(capsys, "chat", "openai/gpt-4o-mini", "What is this?", "--image", str(png))
    assert (code, out) == (0, "You said: What is this? (I see 1 image.)\n")
    content = env.last_request.json()["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "What is this?"},
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()},
        },
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["chat", "openai/gpt-4o-mini", "  "], "llmkit: empty prompt: give it as an argument, or pipe it on stdin\n"),
        (
            ["chat", "openai/gpt-4o-mini", "x", "--image", "notes.txt"],
            "llmkit: --image 'notes.txt' is not an image file llmkit recognises (png, jpeg, gif, webp)\n",
        ),
        (
            ["chat", "openai/gpt-4o-mini", "x", "--image", "/nonexistent/cat.png"],
            "llmkit: cannot read --image '/nonexistent/cat.png': No such file or directory\n",
        ),
    ],
)
def test_bad_input_exits_2(env, capsys, argv, message) -> None:
    assert run(capsys, *argv) == (2, "", message)
    assert env.requests == []


def test_bad_command_line_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["chat"])
    assert info.value.code == 2
    assert "the following arguments are required: model" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, 4, "AuthenticationError"),
        (400, 6, "BadRequestError"),
        (429, 5, "RateLimitError"),
        (500, 8, "ServerError"),
    ],
)
def test_provider_errors_map_to_exit_codes(env, capsys, status, code, kind) -> None:
    for _ in range(3):  # the client retries 429 and 5xx twice; retry-after 0 keeps it instant
        env.queue_error("openai", status, "emulated failure", headers={"retry-after": "0"})
    rc, out, err = run(capsys, "chat", "openai/gpt-4o-mini", "Hi")
    assert (rc, out) == (code, "")
    assert err.startswith(MINI_WARNING)
    error = err[len(MINI_WARNING) :]
    assert error.startswith(f"llmkit: {kind}: [openai HTTP {status}") and "emulated failure" in error
    assert error.count("\n") == 1


def test_errors_raised_before_any_request(env, capsys, monkeypatch) -> None:
    rc, _, err = run(capsys, "chat", "openai/o1-mini", "Hi")
    assert rc == 3
    assert err == (
        "llmkit: ConfigError: [openai] model openai/o1-mini was retired on 2025-10-27; use openai/o4-mini "
        "instead. If openai still serves it to you, allow it with providers={'openai': "
        "{'allow_retired_models': ['o1-mini']}} (`llmkit doctor` shows what is configured)\n"
    )
    rc, _, err = run(capsys, "chat", "openai/gpt-5", "Hi", "--temperature", "0.3")
    warning, error = err.splitlines()
    assert warning == (
        "llmkit: warning: model openai/gpt-5 was deprecated on 2026-06-11; retires on 2026-12-11; "
        "use openai/gpt-6.1-sol instead"
    )
    assert rc == 11 and error.startswith("llmkit: UnsupportedFeatureError: ")
    monkeypatch.delenv("OPENAI_API_KEY")
    rc, _, err = run(capsys, "chat", "openai/gpt-4o-mini", "Hi")
    assert rc == 3 and "set OPENAI_API_KEY" in err
    assert env.requests == []


def test_unknown_model_is_not_found(env, capsys) -> None:
    rc, _, err = run(capsys, "chat", "openai/gpt-nope", "Hi")
    assert rc == 7
    assert err.startswith(
        "llmkit: NotFoundError: [openai HTTP 404 model_not_found] The model `gpt-nope` does not exist"
    )
    assert err.endswith("(check the model id with `llmkit models`)\n")


def test_interrupt_exits_130(monkeypatch, capsys) -> None:
    def interrupted(args):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr("llmkit.cli._chat.run", interrupted)
    assert run(capsys, "chat", "openai/gpt-4o-mini", "Hi") == (130, "", "llmkit: interrupted\n")


def test_exit_codes_are_distinct_per_kind() -> None:
    from llmkit import RateLimitError, ServerError

    codes = {cls.__name__: code for cls, code, _ in EXIT_CODES}
    assert codes["ConfigError"] == 3 and codes["AuthenticationError"] == 4 and codes["BudgetExceededError"] == 12
    assert len({c for c in codes.values()}) == 10  # bad-request kinds share 6; timeout and connection share 9
    assert exit_code(ServerError("x")) == 8
    err = RateLimitError("slow down", provider="groq", status=429, retry_after=2.5)
    assert error_line(err) == (
        "llmkit: RateLimitError: [groq HTTP 429] slow down (slow down; the provider asks to retry after 2.5 s)"
    )


# -- providers, models -----------------------------------------------------------------------------


def test_providers_table(env, capsys) -> None:
    code, out, _ = run(capsys, "providers")
    lines = out.splitlines()
    assert code == 0 and "\x1b[" not in out
    assert lines[0].split() == ["PROVIDER", "DIALECT", "MODELS", "CAPABILITIES", "ENV"]
    openai = next(line for line in lines if line.startswith("openai ")).split()
    assert openai[:3] == ["openai", "openai_chat", str(len(llmkit.models("openai")))]
    assert openai[3].startswith("tools,vision,json_schema,caching")
    assert openai[4:] == ["OPENAI_API_KEY:set", "OPENAI_BASE_URL:set", "OPENAI_ORG_ID:unset", "OPENAI_PROJECT_ID:unset"]
    gemini = next(line for line in lines if line.startswith("gemini "))
    assert "GEMINI_API_KEY:unset" in gemini


def test_providers_json(env, capsys) -> None:
    code, out, _ = run(capsys, "providers", "--json")
    data = {p["id"]: p for p in json.loads(out)}
    assert code == 0
    assert data["anthropic"]["env"] == {"ANTHROPIC_API_KEY": True, "ANTHROPIC_BASE_URL": True}
    assert (
        data["anthropic"]["models"] == len(llmkit.models("anthropic"))
        and data["anthropic"]["dialect"] == "anthropic_messages"
    )
    assert data["gemini"]["capabilities"]["count_tokens"] is True


def test_models_table(capsys) -> None:
    code, out, _ = run(capsys, "models", "--provider", "openai")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == [
        "MODEL",
        "CONTEXT",
        "MAX",
        "OUT",
        "IN",
        "$/M",
        "OUT",
        "$/M",
        "CACHED",
        "$/M",
        "CAPABILITIES",
        "LIFECYCLE",
    ]
    assert len(lines) == 1 + len(llmkit.models("openai")) and all(line.startswith("openai/") for line in lines[1:])
    row = next(line for line in lines if line.startswith("openai/gpt-4o-mini "))
    cells = row.split()
    assert cells[:6] == ["openai/gpt-4o-mini", "128,000", "16,384", "0.15", "0.6", "0.075"]
    assert cells[6].startswith("tools,vision,json_schema,caching")
    assert row.endswith("deprecated 2026-10-14, retires 2027-01-14 -> gpt-6-luna")  # on the suite's day, 2026-11-25
    current = next(line for line in lines if line.startswith("openai/gpt-6-luna ")).split()
    assert current[:6] == ["openai/gpt-6-luna", "1,050,000", "128,000", "0.1", "0.5", "0.01"]
    assert current[-1] == "active"
    assert next(line for line in lines if line.startswith("openai/text-embedding-3-small ")).endswith("active")
    retired = next(line for line in lines if line.startswith("openai/o1-mini "))
    assert retired.endswith("retired 2025-10-27 -> o4-mini")
    # numeric columns are right-aligned: each ends where its header ends
    assert lines[0].index("CONTEXT") + len("CONTEXT") == row.index("128,000") + len("128,000")


def test_models_json_and_unknown_provider(capsys) -> None:
    code, out, _ = run(capsys, "models", "-p", "gemini", "--json")
    entry = next(m for m in json.loads(out) if m["id"] == "gemini-2.0-flash")
    assert code == 0
    assert entry["price_per_million_tokens"] == {
        "input": 0.1,
        "output": 0.4,
        "cached_input": 0.025,
        "cache_write": None,
        "cache_write_1h": None,
    }
    assert entry["lifecycle"]["status"] == "retired" and entry["lifecycle"]["replacement"] == "gemini-2.5-flash"
    assert entry["capabilities"]["reasoning"] is False
    code, out, err = run(capsys, "models", "-p", "martian")
    assert (code, out) == (3, "")
    assert err.startswith("llmkit: ConfigError: unknown provider 'martian'; known: ") and " openai, " in err


# -- doctor ----------------------------------------------------------------------------------------


def test_doctor_lists_what_is_missing(env, capsys) -> None:
    code, out, _ = run(capsys, "doctor", *THREE)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("llmkit 0.1.0 on ")
    assert lines[2].split()[:2] == ["anthropic", "ready"]
    assert lines[3].split() == [
        "gemini",
        "missing",
        "https://generativelanguage.googleapis.com/v1beta",
        "set",
        "GEMINI_API_KEY",
        "or",
        "GOOGLE_API_KEY",
    ]
    assert lines[4].split() == [
        "openai",
        "ready",
        env.base_url("openai"),
        "(OPENAI_BASE_URL)",
        "key",
        "from",
        "OPENAI_API_KEY",
    ]
    assert lines[5] == "2 of 3 provider(s) configured"


def test_doctor_with_nothing_configured_exits_1(capsys) -> None:
    code, out, err = run(capsys, "doctor", "-p", "openai")
    assert code == 1
    assert out.splitlines()[-1] == "0 of 1 provider(s) configured"
    assert err == "llmkit: no provider is configured; set one of the env vars above\n"


def test_doctor_check_calls_each_configured_provider(env, capsys) -> None:
    code, out, _ = run(capsys, "doctor", "--check", *THREE)
    assert code == 0
    assert [line.split()[1] for line in out.splitlines()[2:5]] == ["ok", "missing", "ok"]
    assert sorted(r.subpath for r in env.requests) == ["/models", "/v1/models"]
    env.queue_error("openai", 401, "Incorrect API key provided")
    code, out, _ = run(capsys, "doctor", "--check", "-p", "openai")
    row = out.splitlines()[2]
    assert code == 1
    assert row.split()[:2] == ["openai", "failed"]
    assert "AuthenticationError: [openai HTTP 401" in row and "Incorrect API key provided" in row
    assert out.splitlines()[-1] == "1 of 1 provider(s) configured, 1 failed the check"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_doctor_keyless_and_either_or_credentials(capsys) -> None:
    code, out, _ = run(capsys, "doctor", "-p", "vllm", "-p", "azure")
    lines = out.splitlines()
    assert code == 1
    assert lines[2].split() == [
        "vllm",
        "local",
        "http://localhost:8000/v1",
        "no",
        "key",
        "needed;",
        "a",
        "local",
        "server",
    ]
    assert lines[3].split()[1:3] == ["missing", "-"]
    assert lines[3].endswith("set AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN; set AZURE_OPENAI_ENDPOINT")
    assert lines[4] == "0 of 2 provider(s) configured"


def test_doctor_check_tells_a_stopped_local_server_from_a_broken_setup(capsys, monkeypatch) -> None:
    import attrs

    from llmkit import _registry

    real = _registry.provider_spec
    port = _closed_port()

    def spec(pid: str):  # type: ignore[no-untyped-def]
        s = real(pid)
        return attrs.evolve(s, base_url=f"http://127.0.0.1:{port}/v1") if pid == "lmstudio" else s

    monkeypatch.setattr(_registry, "provider_spec", spec)
    monkeypatch.setenv("VLLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    code, out, _ = run(capsys, "doctor", "--check", "--timeout", "5", "-p", "lmstudio", "-p", "vllm")
    lines = out.splitlines()
    assert code == 1
    assert lines[2].split()[:2] == ["lmstudio", "down"] and lines[2].endswith("not running here (ConnectionError)")
    assert lines[3].split()[:2] == ["vllm", "failed"] and "ConnectionError: [vllm] could not reach vllm" in lines[3]
    assert lines[4] == "1 of 2 provider(s) configured, 1 failed the check"


def test_emulator_command_delegates_to_llmkit_testing(monkeypatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr("llmkit.testing.__main__.main", lambda argv: seen.append(argv) or 0)
    assert main(["emulator", "--port", "8765"]) == 0
    assert main(["emulator"]) == 0
    assert seen == [["--port", "8765"], ["--port", "0"]]


# -- terminal output -------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_tty_without_no_color(env, capsys, monkeypatch) -> None:
    tty = _Tty()
    monkeypatch.setattr("sys.stdout", tty)
    assert main(["doctor", *THREE]) == 0
    assert "\x1b[1mPROVIDER\x1b[0m" in tty.getvalue() and "\x1b[32mready\x1b[0m" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Tty()
    monkeypatch.setattr("sys.stdout", plain)
    assert main(["doctor", *THREE]) == 0
    assert "\x1b[" not in plain.getvalue()
    # coloured and plain tables line up the same once the escapes are removed
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", tty.getvalue()) == plain.getvalue()


def test_table_and_number_formatting() -> None:
    plain = Style(io.StringIO())
    table = render_table(["NAME", "N"], [["a", "1"], ["long-name", "1,000"]], plain, right=(1,))
    assert table == "NAME           N\na              1\nlong-name  1,000"
    assert [fmt_price(v) for v in (None, 0.15, 10.0, 0.0375, 0.0)] == ["-", "0.15", "10", "0.0375", "0"]
    assert [fmt_int(v) for v in (None, 1048576)] == ["-", "1,048,576"]


# -- real processes ----------------------------------------------------------------------------------


def test_real_processes_emulator_and_chat() -> None:
    """`llmkit emulator` serves in the foreground; a second process chats with it over a pipe."""
    import os
    import signal
    import subprocess
    import sys

    emulator = subprocess.Popen(
        [sys.executable, "-m", "llmkit.cli", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        # A model with no lifecycle: this process reads the real calendar, not the suite's day.
        env = {
            **os.environ,
            "ANTHROPIC_API_KEY": "shell-key",
            "ANTHROPIC_BASE_URL": url + "/anthropic",
            "NO_COLOR": "1",
        }
        chat = subprocess.run(
            [sys.executable, "-m", "llmkit.cli", "chat", "anthropic/claude-haiku-4-5", "--usage"],
            input="piped prompt",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert (chat.returncode, chat.stdout) == (0, "You said: piped prompt\n")
        # 2 * $1.00 + 4 * $5.00 per million tokens
        assert (
            chat.stderr
            == "anthropic/claude-haiku-4-5-20251001: 2 input + 4 output tokens, $0.000022, finish_reason=stop\n"
        )
        missing = subprocess.run(
            [sys.executable, "-m", "llmkit.cli", "chat", "gemini/gemini-2.5-flash", "Hi"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert missing.returncode == 3 and missing.stdout == ""
        assert missing.stderr.startswith("llmkit: ConfigError: [gemini] no API key for 'gemini'")
    finally:
        emulator.send_signal(signal.SIGINT)
        assert emulator.wait(timeout=30) == 0
