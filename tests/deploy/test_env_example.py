"""deploy/.env.example documents every variable: the README's configuration table and every
variable whistle/settings.py reads; secrets appear only as files (issue 14, point 2)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.deploy.helpers import (
    COMPOSE,
    DEPLOY,
    ENV_EXAMPLE,
    ROOT,
    SECRET_VARIABLES,
    load_compose,
    readme_variables,
    settings_variables,
)


def _lines() -> list[str]:
    return ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()


def _documented() -> set[str]:
    """Names set (NAME=…), shown with their default (# NAME=…), or said to come from a file
    (# NAME -> secret file …)."""
    names: set[str] = set()
    for line in _lines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)(=| -> secret file )", line)
        if match:
            names.add(match[1])
    return names


def test_the_readme_table_and_settings_agree() -> None:
    """A variable that settings read is in the README's table (and so in .env.example)."""
    readme = readme_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "ONION_ADDRESS", "LOG_LEVEL"} <= readme
    assert settings_variables() - readme == set()


def test_every_readme_variable_is_documented() -> None:
    assert readme_variables() - _documented() == set()


def test_every_settings_variable_is_documented() -> None:
    assert settings_variables() - _documented() == set()


def test_secrets_are_never_assigned_in_the_example() -> None:
    for line in _lines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            assert match[1] not in SECRET_VARIABLES, line
    for name in SECRET_VARIABLES - {"POSTGRES_PASSWORD"}:
        assert any(line.startswith(f"# {name} -> secret file ") for line in _lines()), name


def test_compose_interpolations_are_documented() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text(encoding="utf-8")))
    assert "WHISTLE_DOMAIN" in used
    assert used - _documented() == set()


def _assignments() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in _lines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match[1]] = match[2]
    return values


def test_the_example_with_generated_secrets_passes_the_deploy_checks(tmp_path) -> None:
    """deploy/.env.example as it stands, the compose file's environment for the web service,
    and the secret files deploy/make-secrets.sh writes (mounted where compose mounts them):
    production settings load and `manage.py check --deploy` finds nothing."""
    secrets = tmp_path / "secrets"
    subprocess.run(
        [str(DEPLOY / "make-secrets.sh")],
        env={"PATH": os.environ["PATH"], "WHISTLE_SECRETS_DIR": str(secrets)},
        check=True,
        capture_output=True,
    )
    compose = load_compose()
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "STATIC_ROOT": str(tmp_path / "static"),
        **_assignments(),
    }
    for key, value in compose["services"]["web"]["environment"].items():
        if key.endswith("_FILE"):
            secret_file = compose["secrets"][Path(value).name]["file"]
            value = str(secrets / Path(secret_file).name)
        environment[key] = str(value)
    assert environment["WHISTLE_MODE"] == "production"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no issues" in result.stdout
