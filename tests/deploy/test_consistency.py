"""The deployment files agree with each other (issue 14, the parts built separately): the
health check's and the probes' Host against each ALLOWED_HOSTS, one uid everywhere, the same
port, the same secret files and the same MEDIA_ROOT in the image, compose and Kubernetes."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy.helpers import (
    DEPLOY,
    DOCKERFILE,
    ENV_EXAMPLE,
    ROOT,
    final_user,
    load_compose,
    stages,
)
from tests.deploy.kustomize_subset import containers, pod_spec, render

K8S = DEPLOY / "k8s"
K8S_TREES = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
# Services of the compose file that run the image built from deploy/Dockerfile.
WHISTLE_SERVICES = ("migrate", "web", "web-staff", "worker", "beat")


def _healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("whistle_healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match[1]] = match[2]
    return values


def _hosts(value: str) -> list[str]:
    """ALLOWED_HOSTS as whistle/settings.py reads it (comma-separated, case-folded)."""
    return [h.strip().lower() for h in value.split(",") if h.strip()]


def _config(objects: list[dict[str, Any]]) -> dict[str, str]:
    (configmap,) = [o for o in objects if o["kind"] == "ConfigMap"]
    data: dict[str, str] = configmap["data"]
    return data


def _dockerfile_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in stages(DOCKERFILE)[-1]:
        if instruction["instruction"] == "ENV":
            for name, value in re.findall(r"([A-Z_]+)=(\S+)", instruction["value"]):
                values[name] = value
    return values


@pytest.fixture(scope="module", params=sorted(K8S_TREES))
def k8s(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(K8S_TREES[request.param])


def _web_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (web,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "whistle-web"
    ]
    (container,) = (pod_spec(web) or {})["containers"]
    assert isinstance(container, dict)
    return container


# --- the Host and X-Forwarded-Proto the checks send ---------------------------------------------


def test_the_image_healthcheck_names_a_host_of_the_compose_settings() -> None:
    """Compose runs deploy/healthcheck.py with deploy/.env's ALLOWED_HOSTS: the host it sends
    must be one of them, and the X-Forwarded-Proto it sends must be trusted."""
    settings = _env_example()
    headers = _healthcheck().probe_headers(settings)
    assert headers["Host"].lower() in _hosts(settings["ALLOWED_HOSTS"])
    assert headers["X-Forwarded-Proto"] == "https"
    assert settings.get("TRUST_X_FORWARDED_PROTO", "true") == "true"
    # The first entry is a concrete name (no wildcard, no leading dot) that Whistle serves.
    assert re.fullmatch(r"[a-z0-9.-]+", headers["Host"]) and not headers["Host"].startswith(".")
    compose = load_compose()
    for name in ("web", "web-staff"):
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[1:3] == ["python", "/app/deploy/healthcheck.py"], name


def test_the_healthcheck_sends_no_host_without_allowed_hosts() -> None:
    assert _healthcheck().probe_headers({}) == {"X-Forwarded-Proto": "https"}


def test_the_kubernetes_probes_name_a_host_of_the_configmap(k8s: list[dict[str, Any]]) -> None:
    config = _config(k8s)
    allowed = _hosts(config["ALLOWED_HOSTS"])
    container = _web_container(k8s)
    for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
        headers = {h["name"]: h["value"] for h in container[probe_name]["httpGet"]["httpHeaders"]}
        assert headers["Host"].lower() in allowed, probe_name
        assert headers["X-Forwarded-Proto"] == "https", probe_name
    assert config["TRUST_X_FORWARDED_PROTO"] == "true"
    # Were the image's own HEALTHCHECK run there, it would name a served host as well.
    assert _healthcheck().probe_headers(config)["Host"].lower() in allowed


# --- one uid, one port, one MEDIA_ROOT, the same secret files -----------------------------------


def _dockerfile_uid() -> tuple[int, int]:
    user = final_user(DOCKERFILE)
    assert user is not None
    uid, _, gid = user.partition(":")
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert f"--uid {uid} --gid {gid}" in text and f"--gid {gid} whistle" in text
    return int(uid), int(gid)


def test_one_uid_in_the_image_compose_and_kubernetes(k8s: list[dict[str, Any]]) -> None:
    uid, gid = _dockerfile_uid()
    compose = load_compose()
    for name in WHISTLE_SERVICES:
        service = compose["services"][name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
        # No user: of its own, or the image's: volumes the image prepared stay writable.
        assert service.get("user", f"{uid}:{gid}") == f"{uid}:{gid}", name
    checked = 0
    for obj in k8s:
        spec = pod_spec(obj)
        if spec is None:
            continue
        pod = spec["securityContext"]
        assert (pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (uid, gid, gid)
        for container in containers(spec):
            own = container.get("securityContext", {})
            assert own.get("runAsUser", uid) == uid and own.get("runAsGroup", gid) == gid
            checked += 1
        for volume in spec.get("volumes", []):
            if "secret" in volume:  # readable by the group the process runs in
                assert volume["secret"]["defaultMode"] & 0o040
    assert checked >= 7
    for document in ("docs/operations.md", "README.md"):
        text = (ROOT / document).read_text(encoding="utf-8")
        assert re.search(rf"uid\b[^\n]{{0,12}}\b{uid}\b", text), document


def test_one_port_for_the_web_processes(k8s: list[dict[str, Any]]) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    (exposed,) = re.findall(r"^EXPOSE (\d+)$", text, flags=re.MULTILINE)
    port = int(exposed)
    assert urlsplit(_healthcheck().DEFAULT_URL).port == port
    compose = load_compose()
    for name in ("web", "web-staff"):
        command = compose["services"][name]["command"]
        assert command[command.index("--port") + 1] == str(port), name
        assert f"127.0.0.1:{port}/healthz" in " ".join(
            compose["services"][name]["healthcheck"]["test"]
        )
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert set(re.findall(r"\{\$CADDY_(?:WEB|STAFF)_PORT:(\d+)\}", caddyfile)) == {str(port)}
    container = _web_container(k8s)
    assert [p["containerPort"] for p in container["ports"]] == [port]
    assert container["args"][container["args"].index("--port") + 1] == str(port)
    for policy in (o for o in k8s if o["kind"] == "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            assert [p["port"] for p in rule["ports"]] == [port], policy["metadata"]["name"]


def test_media_root_is_the_image_s_everywhere(k8s: list[dict[str, Any]]) -> None:
    media_root = _dockerfile_env()["MEDIA_ROOT"]
    assert media_root in re.findall(r'^VOLUME \["([^"]+)"\]', DOCKERFILE.read_text(), flags=re.M)
    compose = load_compose()
    for name in ("web", "web-staff", "worker"):
        assert f"whistle-files:{media_root}" in compose["services"][name]["volumes"], name
    assert _config(k8s)["MEDIA_ROOT"] == media_root
    for obj in k8s:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] in (
            "whistle-web",
            "whistle-worker",
        ):
            mounts = {
                m["mountPath"] for m in (pod_spec(obj) or {})["containers"][0]["volumeMounts"]
            }
            assert media_root in mounts, obj["metadata"]["name"]


def test_the_same_secrets_are_files_in_compose_and_kubernetes(k8s: list[dict[str, Any]]) -> None:
    """The web processes read the metrics token besides what every process reads."""
    compose = load_compose()

    def files(service: str) -> set[str]:
        environment = compose["services"][service]["environment"]
        return {name for name in environment if name.endswith("_FILE")}

    assert files("web") == files("web-staff") == files("worker") | {"METRICS_TOKEN_FILE"}
    for obj in k8s:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container in containers(spec):
            names = {e["name"] for e in container.get("env", []) if e["name"].endswith("_FILE")}
            expected = files("web") if container["name"] == "web" else files("worker")
            assert names == expected, (obj["metadata"]["name"], container["name"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in files("web"):
        assert f"`{name.removesuffix('_FILE')}`" in readme, name
