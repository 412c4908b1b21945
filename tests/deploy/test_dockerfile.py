"""deploy/Dockerfile and .dockerignore (issue 14, point 1), parsed with dockerfile-parse.
Docker does not run on these machines; the collectstatic step is run here as the build runs
it."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.deploy.helpers import (
    DOCKERFILE,
    ROOT,
    SECRET_VARIABLES,
    env_assignments,
    final_user,
    is_root,
    stages,
)

COMPILERS = ("build-essential", "gcc", "g++", "clang", "make", "cc", "libc6-dev")


def _runs(stage: list[dict[str, Any]]) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == "RUN"]


def _installed_packages(stage: list[dict[str, Any]]) -> set[str]:
    packages: set[str] = set()
    for run in _runs(stage):
        for command in re.split(r"&&|;", run):
            words = command.split()
            if "install" in words and any(w in ("apt-get", "apt") for w in words):
                after = words[words.index("install") + 1 :]
                packages.update(w for w in after if not w.startswith("-"))
    return packages


def _collectstatic_run() -> str:
    (run,) = [r for r in _runs(stages(DOCKERFILE)[-1]) if "collectstatic" in r]
    return run


def test_multi_stage_on_python_3_11_slim() -> None:
    all_stages = stages(DOCKERFILE)
    assert len(all_stages) >= 2
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in text
    for stage in all_stages:
        assert stage[0]["value"].startswith("${PYTHON_IMAGE} AS ")
    build, final = all_stages[0], all_stages[-1]
    assert "build-essential" in _installed_packages(build)
    assert any("pip wheel" in run for run in _runs(build))
    # The final stage installs the wheels from the build stage, from no index.
    assert any("--no-index" in run and "/wheels" in run for run in _runs(final))


def test_the_final_stage_has_no_compiler() -> None:
    final = stages(DOCKERFILE)[-1]
    assert not set(COMPILERS) & _installed_packages(final)
    # Nothing copied over from the build stage but the requirements (wheels are mounted).
    for instruction in final:
        if instruction["instruction"] == "COPY" and "--from=build" in instruction["value"]:
            assert instruction["value"].split()[-2] == "/build/requirements.txt"


def test_the_final_stage_has_what_weasyprint_needs() -> None:
    """The same system libraries and font as bin/test installs for the export tests."""
    bin_test = (ROOT / "bin" / "test").read_text(encoding="utf-8")
    needed: set[str] = set()
    for line in bin_test.splitlines():
        if "apt_install" in line and ("pango" in line or "fonts-dejavu" in line):
            needed.update(line.split("apt_install", 1)[1].split())
    assert {"libpango-1.0-0", "fonts-dejavu-core"} <= needed
    assert needed <= _installed_packages(stages(DOCKERFILE)[-1])


def test_runs_as_a_fixed_non_root_user() -> None:
    user = final_user(DOCKERFILE)
    assert user is not None and not is_root(user)
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit()
    final = stages(DOCKERFILE)[-1]
    assert any(f"--uid {uid}" in run for run in _runs(final))
    # USER comes after the last RUN: nothing set up later runs as root at build time only to
    # be owned by root at run time unnoticed.
    kinds = [i["instruction"] for i in final]
    assert max(i for i, k in enumerate(kinds) if k == "RUN") < kinds.index("USER")


def test_health_check_uses_python_against_healthz() -> None:
    final = stages(DOCKERFILE)[-1]
    (check,) = [i["value"] for i in final if i["instruction"] == "HEALTHCHECK"]
    assert "python" in check and "/healthz" in check and "deploy/healthcheck.py" in check
    assert not {"curl", "wget"} & _installed_packages(final)


def test_default_command_serves_on_all_interfaces() -> None:
    final = stages(DOCKERFILE)[-1]
    (command,) = [i["value"] for i in final if i["instruction"] == "CMD"]
    assert command == '["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000"]'


def test_build_time_settings_never_reach_the_image_environment() -> None:
    final = stages(DOCKERFILE)[-1]
    env_text = " ".join(i["value"] for i in final if i["instruction"] == "ENV")
    dummies = env_assignments(_collectstatic_run())
    assert "SECRET_KEY" in dummies and "RECEIPT_PEPPER" in dummies
    for name in set(dummies) | SECRET_VARIABLES:
        assert not re.search(rf"\b{name}=", env_text), name
    assert "ARG SECRET" not in DOCKERFILE.read_text(encoding="utf-8")


def test_collectstatic_at_build_time_writes_the_manifest(tmp_path) -> None:
    """The build's collectstatic step, run as the Dockerfile runs it (with its build-only
    values and nothing else): the manifest that `manage.py serve` requires is written."""
    run = _collectstatic_run()
    assert run.split("&&")[0].strip().endswith("python manage.py collectstatic --noinput")
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "WHISTLE_VAR_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
        **env_assignments(run),
    }
    assert environment["WHISTLE_MODE"] == "production"
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (tmp_path / "static" / "staticfiles.json").is_file()


# --- .dockerignore ---------------------------------------------------------------------------


def _ignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not any(p.startswith("!") for p in patterns), "negations: extend this test"
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(
                prefix.rsplit("/", 1)[-1], pattern[3:]
            ):
                return True
    return False


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        "var/whistle.sqlite3",
        "var/receipt_pepper",
        "deploy/secrets/secret_key",
        "deploy/.env",
        ".env",
        "tests/deploy/test_dockerfile.py",
        "bench/intake.py",
        "whistle/__pycache__/settings.cpython-311.pyc",
        "whistle/locale/de/LC_MESSAGES/django.po",
    ],
)
def test_dockerignore_keeps_out(path) -> None:
    assert _ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "pyproject.toml",
        "whistle/settings.py",
        "whistle/locale/de/LC_MESSAGES/django.mo",
        "intake/templates/intake/landing.html",
        "crypto/__init__.py",
        "casework/__init__.py",
        "chat/__init__.py",
        "deploy/healthcheck.py",
        "deploy/Caddyfile",
        "deploy/tor/torrc",
    ],
)
def test_dockerignore_keeps_what_the_images_need(path) -> None:
    assert (ROOT / path).exists()
    assert not _ignored(path)
