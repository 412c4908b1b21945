"""deploy/compose.yaml: valid against the Compose specification, and the properties the
service depends on (issue 14, point 2). Docker does not run on these machines, so the file is
checked here instead."""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.helpers import (
    COMPOSE,
    DEPLOY,
    ROOT,
    SECRET_VARIABLES,
    compose_schema,
    final_user,
    is_root,
    load_compose,
    schema_errors,
)

DATABASES = {"postgres", "redis"}
APP_SERVICES = {"migrate", "web", "web-staff", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _long_running(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if s.get("restart") != "no"}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command if isinstance(command, list) else command.split()


def test_compose_file_is_valid_against_the_compose_specification(compose) -> None:
    assert schema_errors(compose, compose_schema()) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "web", "no_such_key"), True),
        (("services", "beat", "depends_on", "migrate", "condition"), "service_finished"),
        (("services", "redis", "healthcheck", "interval"), ["10s"]),
    ],
)
def test_the_schema_check_rejects_a_broken_file(compose, path, value) -> None:
    broken = copy.deepcopy(compose)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert schema_errors(broken, compose_schema())


def test_the_expected_services_exist(services) -> None:
    assert {"postgres", "redis", "caddy", "tor"} | APP_SERVICES <= set(services)
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")


def test_every_service_but_the_databases_runs_as_non_root(services) -> None:
    for name, service in services.items():
        if name in DATABASES:
            continue
        user = service.get("user")
        if user is None:
            build = service.get("build")
            assert build, f"{name}: neither user: nor an image built here"
            dockerfile = (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve()
            user = final_user(dockerfile)
        assert user is not None, f"{name} runs as root"
        assert not is_root(str(user)), f"{name} runs as root"


def test_every_long_running_service_has_a_health_check(services) -> None:
    long_running = _long_running(services)
    assert set(long_running) == set(services) - {"migrate"}
    for name, service in long_running.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no health check"
        assert not check.get("disable"), name
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_every_service_has_resource_limits(services) -> None:
    for name, service in services.items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert limits.get("cpus") and limits.get("memory"), f"{name} has no resource limits"


def test_secrets_are_files_never_environment_values(compose, services) -> None:
    declared = compose["secrets"]
    for name, service in services.items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        assert not SECRET_VARIABLES & set(environment), f"{name} has a secret in environment"
        mounted = set(service.get("secrets", []))
        for key, value in environment.items():
            # No URL with a password in it either.
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", str(value)), f"{name}: {key}"
            if key.endswith("_FILE"):
                secret = Path(str(value))
                assert secret.parent == Path("/run/secrets"), f"{name}: {key}"
                assert secret.name in mounted, f"{name}: {key} names a secret not mounted"
        for secret in mounted:
            assert secret in declared
    for app in APP_SERVICES:
        environment = services[app]["environment"]
        for variable in ("SECRET_KEY", "RECEIPT_PEPPER", "DATABASE_URL", "REDIS_URL"):
            assert f"{variable}_FILE" in environment, f"{app}: {variable}_FILE"
        assert "EMAIL_HOST_PASSWORD_FILE" in environment
        assert services[app].get("env_file") == ".env"
    for secret in declared.values():
        # Secret files live in deploy/secrets/, which git ignores.
        assert Path(secret["file"]).parent == Path("secrets")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/secrets/secret_key"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "deploy/secrets/ is not git-ignored"


def test_redis_keeps_an_append_only_file_and_never_evicts(services) -> None:
    command = _command(services["redis"])
    options = dict(zip(command[1::2], command[2::2], strict=False))
    assert command[0] == "redis-server"
    assert options.get("--appendonly") == "yes"
    assert options.get("--maxmemory-policy") == "noeviction"


def test_postgres_and_redis_are_on_internal_networks_only(compose, services) -> None:
    for name in DATABASES:
        for network in services[name]["networks"]:
            assert compose["networks"][network].get("internal") is True, (name, network)
        assert "ports" not in services[name]


def test_web_is_scalable_and_beat_runs_once(services) -> None:
    for name in ("web", "web-staff"):
        web = services[name]
        # A fixed container name or host port would make a second replica fail.
        assert "container_name" not in web, name
        assert "ports" not in web, name
        assert web.get("deploy", {}).get("replicas", 2) != 1, name
        assert _command(web)[:3] == ["python", "manage.py", "serve"]
    beat = services["beat"]
    assert beat["deploy"]["replicas"] == 1
    assert "beat" in _command(beat)
    assert "worker" in _command(services["worker"])


def test_migrations_run_once_before_the_application(services) -> None:
    migrate = services["migrate"]
    assert _command(migrate)[:3] == ["python", "manage.py", "migrate"]
    assert migrate["restart"] == "no"
    for name in ("web", "web-staff", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name


def test_application_containers_are_locked_down(services) -> None:
    for name, service in services.items():
        if name in DATABASES:
            continue
        assert service.get("read_only") is True, name
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name


def test_the_onion_service_is_a_profile_beside_caddy(services) -> None:
    tor = services["tor"]
    assert tor["profiles"] == ["tor"]
    assert tor["network_mode"] == "service:caddy"
    torrc = (DEPLOY / "tor" / "torrc").read_text(encoding="utf-8")
    assert re.search(r"^HiddenServiceDir /var/lib/tor/whistle$", torrc, re.M)
    # Caddy's onion listener (deploy/Caddyfile; tests/deploy/test_caddy.py runs it).
    assert re.search(r"^HiddenServicePort 80 127\.0\.0\.1:8081$", torrc, re.M)
    assert re.search(r"^SocksPort 0$", torrc, re.M)
    assert all("profiles" not in s for n, s in services.items() if n != "tor")


def test_make_secrets_creates_every_secret_once(tmp_path, compose) -> None:
    directory = tmp_path / "secrets"
    environment = {"PATH": os.environ["PATH"], "WHISTLE_SECRETS_DIR": str(directory)}
    script = str(DEPLOY / "make-secrets.sh")
    subprocess.run([script], env=environment, check=True, capture_output=True)
    files = {path.name: path.read_text(encoding="utf-8") for path in directory.iterdir()}
    for secret in compose["secrets"].values():
        assert Path(secret["file"]).name in files
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert len(files["secret_key"]) >= 50 and len(set(files["secret_key"])) >= 5
    assert len(files["receipt_pepper"]) >= 32
    postgres_password = files["postgres_password"]
    assert (
        files["migrate_database_url"]
        == f"postgres://whistle:{postgres_password}@postgres:5432/whistle"
    )
    # The application connects as its own role, not the owner (row-level security).
    app_password = files["app_db_password"]
    assert files["database_url"] == f"postgres://whistle_app:{app_password}@postgres:5432/whistle"
    redis_password = files["redis_url"].split(":")[2].split("@")[0]
    assert f"user whistle on >{redis_password} " in files["redis_users.acl"]
    assert "user default on nopass -@all +ping" in files["redis_users.acl"]
    # A second run changes nothing: the pepper must never change.
    subprocess.run([script], env=environment, check=True, capture_output=True)
    assert {p.name: p.read_text(encoding="utf-8") for p in directory.iterdir()} == files
