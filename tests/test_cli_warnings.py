"""The CLI shows llmkit's own warnings (a deprecated model) as one clean `llmkit: warning: ...`
line on stderr, without Python's file path and source line, and only while a command runs:
Python's warning display is untouched for library users and for other packages' warnings."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from llmkit.cli import main
from llmkit.testing import Emulator

DEPRECATED = "openai/gpt-4o-mini"  # deprecated on the suite's day (2026-11-25)
LINE = (
    "llmkit: warning: model openai/gpt-4o-mini was deprecated on 2026-10-14; retires on 2027-01-14; "
    "use openai/gpt-6-luna instead\n"
)


@pytest.fixture
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("OPENAI_API_KEY", "cli-key")
    monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url("openai"))
    monkeypatch.setenv("NO_COLOR", "1")
    return emu


def test_a_deprecated_model_is_one_clean_warning_line(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    before = warnings.showwarning
    code = main(["chat", DEPRECATED, "Hello", "--no-stream"])
    out, err = capsys.readouterr()
    assert (code, out, err) == (0, "You said: Hello\n", LINE)
    assert ".py" not in err and "ModelDeprecationWarning" not in err and "warnings.warn" not in err
    assert env.last_request.json()["model"] == "gpt-4o-mini"  # a warning, not a refusal
    assert warnings.showwarning is before  # restored when the command ends


def test_library_users_keep_pythons_warning_display(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    import llmkit

    main(["chat", DEPRECATED, "Hi", "--no-stream"])
    capsys.readouterr()
    llmkit._lifecycle._warned.clear()  # the next use warns again, now outside the CLI
    shown: list[str] = []

    def show(message: Any, category: type[Warning], filename: str, lineno: int, *rest: Any) -> None:
        shown.append(warnings.formatwarning(message, category, filename, lineno))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        with llmkit.Client(providers=env.providers_config()) as client:
            client.chat(DEPRECATED, "Hi")
    assert len(shown) == 1 and "ModelDeprecationWarning: model openai/gpt-4o-mini was deprecated" in shown[0]
    assert __file__.rsplit("/", 1)[-1] in shown[0]  # Python's format, naming the caller's file
    assert capsys.readouterr().err == ""


def test_other_packages_warnings_keep_their_format(
    env: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def noisy(args: Any) -> int:
        warnings.warn("a dependency's own warning", UserWarning, stacklevel=1)
        warnings.warn("an llmkit warning", __import__("llmkit").ModelDeprecationWarning, stacklevel=1)
        return 0

    monkeypatch.setattr("llmkit.cli._chat.run", noisy)
    with pytest.warns(UserWarning, match="a dependency's own warning"):
        assert main(["chat", DEPRECATED, "Hi"]) == 0
    assert capsys.readouterr().err == "llmkit: warning: an llmkit warning\n"
