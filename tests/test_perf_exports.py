"""Lazy public exports: every name resolves, and `import llmkit` loads nothing it does not need."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import llmkit


def test_every_public_name_resolves() -> None:
    for name in llmkit.__all__:
        value = getattr(llmkit, name)
        assert value is not None, name
        if isinstance(value, type) or (callable(value) and not hasattr(value, "__args__")):
            assert value.__module__.startswith("llmkit."), (name, value.__module__)


def test_export_table_matches_all() -> None:
    assert sorted(llmkit._EXPORTS) == sorted(llmkit.__all__)
    assert len(set(llmkit.__all__)) == len(llmkit.__all__)


def test_from_import_and_star_import() -> None:
    from llmkit import ChatResponse, Client, RateLimitError  # noqa: F401

    namespace: dict[str, object] = {}
    exec("from llmkit import *", namespace)
    assert set(llmkit.__all__) <= set(namespace)


def test_dir_lists_public_names_and_version() -> None:
    listing = dir(llmkit)
    assert set(llmkit.__all__) <= set(listing)
    assert "__version__" in listing
    assert isinstance(llmkit.__version__, str) and llmkit.__version__


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        llmkit.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(llmkit, "_private_thing")


def _fresh_modules(code: str) -> list[str]:
    script = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    return list(json.loads(out.stdout.splitlines()[-1]))


def test_import_llmkit_loads_no_runtime_module() -> None:
    before = set(_fresh_modules("pass"))
    after = set(_fresh_modules("import llmkit"))
    new = after - before
    assert "llmkit" in new
    light = {"llmkit", "llmkit._version"}
    heavy = {
        m for m in new - light if m.startswith(("llmkit", "httpx", "attrs", "cattrs", "typing", "asyncio", "json"))
    }
    assert not heavy, sorted(heavy)


def test_version_access_stays_light() -> None:
    modules = _fresh_modules("import llmkit\nllmkit.__version__")
    assert not [m for m in modules if m.startswith(("llmkit.", "httpx")) and m != "llmkit._version"]


def test_first_attribute_access_loads_only_its_module() -> None:
    modules = set(_fresh_modules("import llmkit\nllmkit.RateLimitError"))
    assert "llmkit._errors" in modules
    assert "llmkit._client" not in modules
    assert "llmkit.generated.dispatch" not in modules
