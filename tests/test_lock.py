"""requirements.lock (what `make run`, `make test` and CI install) agrees with pyproject.toml.

Disagreement means someone changed one without `make lock`: a dependency the code needs would
be missing from a fresh install, or a pin no longer fits its range, or the lock drags in
something nothing asks for.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
FIX = "pyproject.toml and requirements.lock disagree: run `make lock`"
Requires = Callable[[NormalizedName], list[str]]


@dataclass(frozen=True)
class Pin:
    version: Version
    hashes: int


def parse_lock(text: str) -> dict[NormalizedName, Pin]:
    """`name==version \\ --hash=sha256:… …` entries of a pip-compile lock."""
    pins: dict[NormalizedName, Pin] = {}
    for entry in text.replace("\\\n", " ").splitlines():
        tokens = entry.split("#", 1)[0].split()
        if not tokens:
            continue
        req = Requirement(tokens[0])
        (spec,) = req.specifier  # exactly one `==`, or this is no lock
        assert spec.operator == "==", entry
        hashes = sum(t.startswith("--hash=sha256:") for t in tokens[1:])
        pins[canonicalize_name(req.name)] = Pin(Version(spec.version), hashes)
    return pins


def roots(pyproject: dict) -> list[Requirement]:
    """What pyproject.toml asks for: the build backend, the dependencies, the [dev] extra."""
    texts = [*pyproject["build-system"]["requires"], *pyproject["project"]["dependencies"],
             *pyproject["project"]["optional-dependencies"]["dev"]]
    return [Requirement(t) for t in texts]


def _applies(req: Requirement, extras: set[str]) -> bool:
    return req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""})


def _misfit(req: Requirement, pins: dict[NormalizedName, Pin], wanted_by: str) -> str | None:
    pin = pins.get(canonicalize_name(req.name))
    if pin is None:
        return f"{req.name} ({wanted_by}) is not in the lock"
    if not req.specifier.contains(pin.version, prereleases=True):
        return f"lock pins {req.name}=={pin.version}, {wanted_by} wants {req.specifier}"
    return None


def pyproject_problems(pyproject: dict, pins: dict[NormalizedName, Pin]) -> list[str]:
    """Every requirement of pyproject.toml pinned, in its range, with hashes."""
    problems = [p for r in roots(pyproject) if _applies(r, set())
                and (p := _misfit(r, pins, "pyproject.toml"))]
    problems += [f"{name} has no sha256 hash" for name, pin in pins.items() if not pin.hashes]
    return problems


def closure_problems(pyproject: dict, pins: dict[NormalizedName, Pin],
                     requires: Requires) -> list[str]:
    """Walks the dependencies from pyproject.toml through the pinned versions' metadata:
    everything reached is pinned in range, and nothing pinned is left unreached."""
    problems: list[str] = []
    reached: set[NormalizedName] = set()
    walked: set[tuple[NormalizedName, frozenset[str]]] = set()
    todo = [(r, "pyproject.toml") for r in roots(pyproject) if _applies(r, set())]
    while todo:
        req, wanted_by = todo.pop()
        name = canonicalize_name(req.name)
        if problem := _misfit(req, pins, wanted_by):
            problems.append(problem)
            continue
        reached.add(name)
        if (name, frozenset(req.extras)) in walked:
            continue
        walked.add((name, frozenset(req.extras)))
        todo += [(dep, name) for text in requires(name)
                 if _applies(dep := Requirement(text), set(req.extras))]
    problems += [f"{name} is pinned but nothing in pyproject.toml needs it"
                 for name in sorted(set(pins) - reached)]
    return problems


def _read() -> tuple[dict, dict[NormalizedName, Pin]]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject, parse_lock((ROOT / "requirements.lock").read_text())


def _installed_requires(pins: dict[NormalizedName, Pin]) -> Requires:
    """Dependency metadata of the pinned versions, read from this venv (installed from the
    lock by `make`); skips when the venv holds other versions."""
    for name, pin in pins.items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pin.version:
            pytest.skip(f"this venv was not installed from requirements.lock ({name} "
                        f"{installed} here, {pin.version} locked): `make install` first")
    return lambda name: metadata.requires(name) or []


def test_the_lock_pins_every_requirement_of_pyproject_in_range_with_hashes():
    pyproject, pins = _read()
    problems = pyproject_problems(pyproject, pins)
    assert problems == [], "\n".join([*problems, FIX])


def test_the_lock_holds_exactly_the_dependency_closure_of_pyproject():
    pyproject, pins = _read()
    problems = closure_problems(pyproject, pins, _installed_requires(pins))
    assert problems == [], "\n".join([*problems, FIX])


# The checks themselves, on small made-up projects: each kind of disagreement is caught.
TOY = {"build-system": {"requires": ["setuptools>=68"]},
       "project": {"dependencies": ["aiogram>=3.31,<3.32", "SQLAlchemy[asyncio]>=2.1"],
                   "optional-dependencies": {"dev": ["pytest>=8"]}}}
TOY_REQUIRES = {"aiogram": ["magic-filter>=1.0", "uvloop; extra == 'fast'"],
                "sqlalchemy": ["greenlet>=1; extra == 'asyncio'", "typing-extensions>=4"],
                "pytest": ["tomli>=1; python_version < '3.11'"],
                "setuptools": [], "magic-filter": [], "greenlet": [], "typing-extensions": []}
TOY_LOCK = """\
# a header comment
aiogram==3.31.0 \\
    --hash=sha256:aa \\
    --hash=sha256:bb
    # via x
greenlet==3.1.0 --hash=sha256:cc
magic-filter==1.0.12 --hash=sha256:dd
pytest==8.3.0 --hash=sha256:ee
setuptools==75.0.0 --hash=sha256:ff
sqlalchemy==2.1.9 --hash=sha256:11
typing-extensions==4.12.0 --hash=sha256:22
"""


def _toy_check(pyproject: dict = TOY, lock: str = TOY_LOCK) -> list[str]:
    pins = parse_lock(lock)
    return (pyproject_problems(pyproject, pins)
            + closure_problems(pyproject, pins, lambda name: TOY_REQUIRES.get(name, [])))


def _with_dependencies(*deps: str) -> dict:
    return {**TOY, "project": {**TOY["project"], "dependencies": list(deps)}}


def test_the_checks_pass_a_lock_that_agrees():
    assert parse_lock(TOY_LOCK)["aiogram"] == Pin(Version("3.31.0"), 2)
    assert _toy_check() == []


def test_a_pin_outside_the_range_of_pyproject_is_caught():
    problems = _toy_check(_with_dependencies("aiogram>=3.32", "SQLAlchemy[asyncio]>=2.1"))
    assert "lock pins aiogram==3.31.0, pyproject.toml wants >=3.32" in problems


def test_a_dependency_added_to_pyproject_without_relocking_is_caught():
    problems = _toy_check(_with_dependencies("aiogram>=3.31", "SQLAlchemy[asyncio]>=2.1",
                                             "redis>=5"))
    assert "redis (pyproject.toml) is not in the lock" in problems


def test_a_dependency_dropped_from_pyproject_without_relocking_is_caught():
    problems = _toy_check(_with_dependencies("aiogram>=3.31", "SQLAlchemy>=2.1"))  # no extra
    assert problems == ["greenlet is pinned but nothing in pyproject.toml needs it"]


def test_a_transitive_dependency_missing_from_the_lock_is_caught():
    lock = TOY_LOCK.replace("magic-filter==1.0.12 --hash=sha256:dd\n", "")
    assert "magic-filter (aiogram) is not in the lock" in _toy_check(lock=lock)


def test_a_pin_without_a_hash_is_caught():
    lock = TOY_LOCK.replace("pytest==8.3.0 --hash=sha256:ee", "pytest==8.3.0")
    assert "pytest has no sha256 hash" in _toy_check(lock=lock)
