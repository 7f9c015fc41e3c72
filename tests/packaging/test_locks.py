"""The locks in requirements/ match pyproject.toml: every dependency (runtime + deploy in the runtime
lock; + test in the test lock) is pinned exactly, with hashes, at a version its specifier allows, and
the two locks agree on every package they share. A dependency added to pyproject.toml without
`make lock` fails here, not on a fresh machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$", re.MULTILINE)


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    pins = {canonicalize_name(name): version for name, version in PIN.findall(text)}
    requirements = [line for line in text.splitlines() if line[:1].isalnum()]
    assert len(requirements) == len(pins)  # every requirement is an exact pin
    assert text.count("--hash=sha256:") >= len(pins)
    return pins


@pytest.mark.parametrize(
    ("lock", "groups"),
    [("runtime.lock", ("deploy",)), ("test.lock", ("test", "deploy"))],
)
def test_lock_pins_every_declared_dependency_within_its_specifier(lock, groups):
    pins = _pins(lock)
    declared = [*PROJECT["dependencies"], *(d for g in groups for d in PROJECT["optional-dependencies"][g])]
    for line in declared:
        requirement = Requirement(line)
        version = pins.get(canonicalize_name(requirement.name))
        assert version, f"{requirement.name} is not in requirements/{lock}: run `make lock`"
        assert requirement.specifier.contains(version, prereleases=True), f"{line} but {lock} pins {version}"


def test_runtime_lock_has_no_test_tools_and_agrees_with_the_test_lock():
    runtime, test = _pins("runtime.lock"), _pins("test.lock")
    assert {name: test.get(name) for name in runtime} == runtime
    for tool in ("pytest", "playwright", "ruff", "moto", "schemathesis"):
        assert tool not in runtime and tool in test
    assert "gunicorn" in runtime  # the deploy extra
