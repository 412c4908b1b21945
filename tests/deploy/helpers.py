"""Paths and parsers shared by the deployment-file tests."""

from __future__ import annotations

import json
import re
import shlex
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
CADDYFILE = DEPLOY / "Caddyfile"
ENV_EXAMPLE = DEPLOY / ".env.example"

# Values that are secrets: they reach containers only as files (NAME_FILE).
SECRET_VARIABLES = frozenset(
    {
        "SECRET_KEY",
        "RECEIPT_PEPPER",
        "DATABASE_URL",
        "REDIS_URL",
        "EMAIL_HOST_PASSWORD",
        "POSTGRES_PASSWORD",
    }
)


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def compose_schema() -> dict[str, Any]:
    """The Compose specification's JSON schema, as vendored by check-jsonschema (its
    ``check-compose-spec`` hook; source and licence in that package's vendor/ folder)."""
    text = (
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    assert isinstance(schema, dict)
    return schema


def schema_errors(document: Any, schema: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def stages(path: Path) -> list[list[dict[str, Any]]]:
    """The Dockerfile's instructions (dockerfile-parse), split into build stages."""
    parser = DockerfileParser(path=str(path))
    result: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def final_user(path: Path) -> str | None:
    users = [i["value"].strip() for i in stages(path)[-1] if i["instruction"] == "USER"]
    return users[-1] if users else None


def is_root(user: str) -> bool:
    name = user.split(":")[0].strip()
    return name in {"0", "root", ""}


def env_assignments(command: str) -> dict[str, str]:
    """The leading NAME=value words of a shell command (the environment of that command)."""
    values: dict[str, str] = {}
    for word in shlex.split(command):
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", word)
        if match is None:
            break
        values[match[1]] = match[2]
    return values


def readme_variables() -> set[str]:
    """Variables in the first column of the README's configuration table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_column = line.split("|")[1]
        names.update(n for n in re.findall(r"`([A-Z][A-Z0-9_]*)`", first_column))
    # `NAME` / `NAME_FILE`: the file form of NAME, documented with it.
    return {n for n in names if not (n.endswith("_FILE") and n.removesuffix("_FILE") in names)}


def settings_variables() -> set[str]:
    """Every variable whistle/settings.py reads through its Env helper."""
    text = (ROOT / "whistle" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r"\benv\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", text))
