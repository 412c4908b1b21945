"""deploy/.env.example documents every variable: the README's configuration table and every
variable whistle/settings.py reads; secrets appear only as files (issue 14, point 2)."""

from __future__ import annotations

import re

from tests.deploy.helpers import (
    COMPOSE,
    ENV_EXAMPLE,
    SECRET_VARIABLES,
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
