# llmkit developer tasks. `make install` first; every other target uses .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install generate check test lint bench demo docs audit

install:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/dev.lock -e '.[dev,docs]'

generate:
	$(BIN)/python -m codegen generate

check:
	$(BIN)/python -m codegen check

# coverage starts before pytest loads llmkit's pytest plugin, so import-time lines count too.
test:
	$(BIN)/python -m coverage run -m pytest -q
	$(BIN)/python -m coverage report

lint:
	$(BIN)/ruff check llmkit codegen overrides tests
	$(BIN)/mypy --strict llmkit codegen

bench:
	$(BIN)/python -m benchmarks

demo:
	$(BIN)/python -m llmkit.demo

# The static site, into site/ (gitignored). Installs the pinned `docs` extra on first use; the
# build itself needs no network.
docs:
	@$(BIN)/python -c "import mkdocs" 2>/dev/null || $(BIN)/python -m pip install --quiet -c requirements/dev.lock -e '.[docs]'
	$(BIN)/python -m mkdocs build --clean --strict

# Known-vulnerability audit of the RUNTIME dependencies (what `pip install llmkit` brings, at
# the versions installed here) with pip-audit. It fails, and says so in plain words, when the
# advisory service cannot be reached or any package could not be checked: an audit that did
# not happen never reads as clean. AUDIT_SERVICE=osv picks OSV instead of PyPI's JSON API.
AUDIT_SERVICE ?= pypi
define AUDIT_PY
import json, re, subprocess, sys, tempfile
from importlib import metadata
from packaging.requirements import Requirement
seen, todo = {}, ["llmkit"]
while todo:
    name = todo.pop()
    dist = metadata.distribution(name)
    for spec in dist.requires or []:
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        if key not in seen:
            seen[key] = metadata.version(req.name)
            todo.append(req.name)
pins = "".join(f"{n}=={v}\n" for n, v in sorted(seen.items()))
print("auditing runtime dependencies:", ", ".join(f"{n} {v}" for n, v in sorted(seen.items())))
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    f.write(pins)
run = subprocess.run(
    [sys.executable, "-m", "pip_audit", "-r", f.name, "--no-deps", "--disable-pip", "--progress-spinner", "off",
     "-s", "$(AUDIT_SERVICE)", "-f", "json"],
    capture_output=True, text=True)
try:
    report = json.loads(run.stdout)
except ValueError:
    last = (run.stderr.strip().splitlines() or ["(no output)"])[-1]
    print(f"AUDIT NOT DONE: pip-audit could not reach the $(AUDIT_SERVICE) advisory service ({last[:300]}).")
    print("The dependencies are UNVERIFIED. Run `make audit` where the service is reachable.")
    sys.exit(2)
deps = report.get("dependencies", [])
skipped = [d for d in deps if d.get("skip_reason")]
vulns = [(d["name"], d["version"], v["id"], v.get("fix_versions")) for d in deps for v in d.get("vulns", [])]
for name, version, vid, fixes in vulns:
    print(f"VULNERABLE: {name} {version}: {vid} (fixed in {', '.join(fixes) or 'no release yet'})")
if skipped:
    for d in skipped:
        print(f"NOT AUDITED: {d['skip_reason']}")
    print(f"AUDIT INCOMPLETE: {len(skipped)} of {len(deps)} runtime dependencies could not be checked against the "
          "$(AUDIT_SERVICE) advisory service (unreachable, or a mirror without advisory data). They are UNVERIFIED.")
    sys.exit(2)
if vulns:
    sys.exit(1)
print(f"audit clean: {len(deps)} runtime dependencies, no known vulnerabilities ($(AUDIT_SERVICE) advisories)")
endef
export AUDIT_PY

audit:
	@$(BIN)/python -c "$$AUDIT_PY"
