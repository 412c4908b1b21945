"""Configuration from the environment: malformed or missing values stop start-up, naming the
variable (the settings module is imported in a fresh process for each case)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from whistle.env import Env

ROOT = Path(__file__).resolve().parents[2]
GOOD_PRODUCTION = {
    "WHISTLE_MODE": "production",
    "SECRET_KEY": "p" + "roduction-secret-key-with-enough-entropy-0123456789abcdef",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/whistle",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "ALLOWED_HOSTS": "whistle.example",
    "EMAIL_HOST": "smtp.example",
    "RECEIPT_PEPPER": "production-receipt-pepper-0123456789abcdef",
    "WHISTLE_BASE_URL": "https://whistle.example",
}


def start_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WHISTLE_", "DJANGO_"))}
    for name in [*GOOD_PRODUCTION, "SECRET_KEY_FILE", "DATABASE_URL_FILE"]:
        clean.pop(name, None)
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "whistle.settings"
    command = args or ("check",)
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:///var/x.sqlite3"}, "DATABASE_URL"),
        ({"REDIS_URL": "127.0.0.1:6379"}, "REDIS_URL"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"EMAIL_HOST": ""}, "EMAIL_HOST"),
        ({"RECEIPT_PEPPER": ""}, "RECEIPT_PEPPER"),
        ({"RECEIPT_PEPPER": "too-short"}, "RECEIPT_PEPPER"),
        ({"ARGON2_MAX_CONCURRENT": "0"}, "ARGON2_MAX_CONCURRENT"),
        ({"STAFF_IDLE_TIMEOUT": "half an hour"}, "STAFF_IDLE_TIMEOUT"),
        ({"WHISTLE_DEBUG": "perhaps"}, "WHISTLE_DEBUG"),
        ({"WHISTLE_DEBUG": "true"}, "WHISTLE_DEBUG"),
        ({"WHISTLE_MODE": "staging"}, "WHISTLE_MODE"),
        ({"SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE"),
    ],
)
def test_bad_production_environment_stops_startup_naming_the_variable(
    change: dict[str, str], named: str
) -> None:
    env = {**GOOD_PRODUCTION, **change}
    if "SECRET_KEY_FILE" in change:
        env.pop("SECRET_KEY")
    env = {k: v for k, v in env.items() if v != "" or k in ("WHISTLE_MODE",)}
    result = start_django(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.splitlines()[-1]


def test_good_production_environment_starts() -> None:
    result = start_django(GOOD_PRODUCTION)
    assert result.returncode == 0, result.stderr


def test_check_deploy_prints_no_warnings() -> None:
    result = start_django(GOOD_PRODUCTION, "check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secret_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("file-secret-key-with-enough-entropy-0123456789abcdefghij\n")
    env = {k: v for k, v in GOOD_PRODUCTION.items() if k != "SECRET_KEY"}
    env["SECRET_KEY_FILE"] = str(secret)
    result = start_django(env)
    assert result.returncode == 0, result.stderr


def test_env_reader_rejects_both_value_and_file() -> None:
    env = Env({"SECRET_KEY": "a", "SECRET_KEY_FILE": "/nonexistent/x"})
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        env.raw("SECRET_KEY")


def test_env_reader_types() -> None:
    env = Env({"A": "yes", "B": "0", "N": "42", "L": "a, b,,c", "C": "x"})
    assert env.boolean("A", default=False) is True
    assert env.boolean("B", default=True) is False
    assert env.boolean("MISSING", default=True) is True
    assert env.integer("N", 1) == 42
    assert env.items("L") == ["a", "b", "c"]
    with pytest.raises(ImproperlyConfigured, match="N must be at least 100"):
        env.integer("N", 1, minimum=100)
    with pytest.raises(ImproperlyConfigured, match="C must be one of"):
        env.choice("C", ("y", "z"), "y")


def test_missing_csrf_middleware_is_an_error() -> None:
    from django.test import override_settings

    from whistle.checks import csrf_middleware_check

    assert csrf_middleware_check() == []
    with override_settings(MIDDLEWARE=["django.middleware.security.SecurityMiddleware"]):
        assert [e.id for e in csrf_middleware_check()] == ["whistle.E001"]
