"""deploy/k8s: the Kubernetes manifests, rendered, validated against the Kubernetes schemas
(kubernetes-validate bundles them) and held to what docs/operations.md ("Kubernetes") says:
locked-down pods, probes, sizing, one beat, migrations before the rollout, network policies,
secrets as files only, an ingress that logs no client."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from django.test import Client, override_settings

from tests.deploy.kustomize_subset import containers, load_documents, pod_spec, render

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAY = K8S / "overlays" / "production"
EXAMPLES = K8S / "examples"
UID = 10001
# The oldest Kubernetes release the manifests are written for, and the newest schema bundled.
KUBERNETES_VERSIONS = ("1.29", kubernetes_validate.latest_version())
SECRET_NAME = re.compile(r"KEY|PASSWORD|PEPPER|SECRET|DATABASE_URL|REDIS_URL")
# The secrets every Whistle process reads (README, "Configuration"), each from a file.
SECRETS = ("SECRET_KEY", "RECEIPT_PEPPER", "DATABASE_URL", "REDIS_URL", "EMAIL_HOST_PASSWORD")
MIB = 1024 * 1024
KDF_MEMORY_MIB = 128  # crypto.PRODUCTION_PARAMS
WEB_BASELINE_MIB = 137  # docs/performance.md, receipts: a serve process after start-up
MARGIN_MIB = 64


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render(OVERLAY)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (match,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return match


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if pod_spec(o) is not None]


def config(objects: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = find(objects, "ConfigMap", "whistle-config")["data"]
    return data


def quantity(value: str | int) -> float:
    """A Kubernetes quantity in its base unit (cores, bytes)."""
    text = str(value)
    suffixes = {"m": 1e-3, "Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in suffixes.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        if expression["operator"] != "In":
            raise AssertionError(f"unexpected selector operator {expression['operator']}")
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


# --- parsing, rendering, schemas -----------------------------------------------------------


def test_every_manifest_file_parses():
    files = sorted(K8S.rglob("*.yaml"))
    assert len(files) >= 20
    for path in files:
        assert load_documents(path), path


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_rendered_objects_validate_against_the_kubernetes_schemas(rendered, version):
    examples = load_documents(EXAMPLES / "ingress-nginx-controller-configmap.yaml")
    for obj in [*rendered, *examples]:
        # strict: an unknown or misspelt field is an error, not silently ignored
        kubernetes_validate.validate(obj, version, strict=True)


def test_schema_validation_catches_a_misspelt_field(rendered):
    web = find(rendered, "Deployment", "whistle-web")
    broken = yaml.safe_load(yaml.safe_dump(web))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_overlay_renders_the_base_with_its_image_and_settings(rendered):
    kinds = sorted(o["kind"] for o in rendered)
    for kind in (
        "Namespace",
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Job",
        "NetworkPolicy",
        "Ingress",
        "PersistentVolumeClaim",
        "ServiceAccount",
    ):
        assert kind in kinds
    images = {c["image"] for o in workloads(rendered) for c in containers(pod_spec(o) or {})}
    assert images == {"registry.example.org/whistle/whistle:0.1.0"}
    assert config(rendered)["WHISTLE_BASE_URL"] == "https://hinweise.example.de"
    assert all(
        o["metadata"].get("namespace") == "whistle" for o in rendered if o["kind"] != "Namespace"
    )


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_subset_renderer_agrees_with_kubectl_kustomize(rendered):
    output = subprocess.run(
        ["kubectl", "kustomize", str(OVERLAY)], capture_output=True, text=True, check=True
    ).stdout
    theirs = [d for d in yaml.safe_load_all(output) if d]

    def key(o):
        return o["kind"], o["metadata"]["name"]

    assert sorted(rendered, key=key) == sorted(theirs, key=key)


# --- pods ------------------------------------------------------------------------------------


def test_namespace_enforces_the_restricted_pod_security_standard(rendered):
    labels = find(rendered, "Namespace", "whistle")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_container_runs_locked_down(rendered):
    checked = 0
    for obj in workloads(rendered):
        spec = pod_spec(obj) or {}
        pod = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, obj["metadata"]["name"]
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
        for container in containers(spec):
            name = f"{obj['metadata']['name']}/{container['name']}"
            own = container.get("securityContext", {})

            def effective(field: str, own: dict[str, Any] = own, pod: dict[str, Any] = pod) -> Any:
                return own.get(field, pod.get(field))

            assert effective("runAsNonRoot") is True, name
            assert effective("runAsUser") == UID, name
            assert own.get("readOnlyRootFilesystem") is True, name
            assert own.get("allowPrivilegeEscalation") is False, name
            assert own.get("privileged") is not True, name
            assert own.get("capabilities", {}).get("drop") == ["ALL"], name
            assert not own.get("capabilities", {}).get("add"), name
            assert (effective("seccompProfile") or {}).get("type") == "RuntimeDefault", name
            checked += 1
    assert checked >= 7  # web, worker, beat with their init containers, and the Job


def test_the_service_account_mounts_no_token(rendered):
    account = find(rendered, "ServiceAccount", "whistle")
    assert account["automountServiceAccountToken"] is False
    for obj in workloads(rendered):
        assert (pod_spec(obj) or {}).get("serviceAccountName") == "whistle"


def test_every_container_has_resource_requests_and_limits(rendered):
    for obj in workloads(rendered):
        for container in containers(pod_spec(obj) or {}):
            name = f"{obj['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            for resource in ("cpu", "memory"):
                request = resources.get("requests", {}).get(resource)
                limit = resources.get("limits", {}).get(resource)
                assert request is not None and limit is not None, (name, resource)
                assert quantity(request) <= quantity(limit), (name, resource)


def test_web_is_sized_for_one_core_and_its_argon2_slots(rendered):
    web = find(rendered, "Deployment", "whistle-web")
    (container,) = pod_spec(web)["containers"]  # type: ignore[index]
    slots = int(config(rendered)["ARGON2_MAX_CONCURRENT"])
    needed = (WEB_BASELINE_MIB + slots * KDF_MEMORY_MIB + MARGIN_MIB) * MIB
    assert quantity(container["resources"]["requests"]["memory"]) >= needed
    assert quantity(container["resources"]["limits"]["memory"]) >= needed
    assert quantity(container["resources"]["requests"]["cpu"]) >= 1


def _mounts(container: dict[str, Any], spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    return {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}


def test_what_the_processes_write_is_on_volumes(rendered):
    data = config(rendered)
    media_root = data["MEDIA_ROOT"]
    assert PurePosixPath(data["XDG_CACHE_HOME"]).is_relative_to("/tmp")  # noqa: S108
    for obj in workloads(rendered):
        spec = pod_spec(obj) or {}
        for container in containers(spec):
            mounts = _mounts(container, spec)
            assert "emptyDir" in mounts["/tmp"], container["name"]  # noqa: S108
    pvc = find(rendered, "PersistentVolumeClaim", "whistle-files")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("whistle-web", "whistle-worker"):
        spec = pod_spec(find(rendered, "Deployment", name)) or {}
        mounts = _mounts(spec["containers"][0], spec)
        assert mounts[media_root]["persistentVolumeClaim"]["claimName"] == "whistle-files"
    beat = find(rendered, "Deployment", "whistle-beat")
    args = pod_spec(beat)["containers"][0]["args"]  # type: ignore[index]
    schedule = PurePosixPath(args[args.index("--schedule") + 1])
    assert schedule.is_relative_to("/tmp")  # noqa: S108


def test_web_has_startup_liveness_and_readiness_probes(rendered):
    web = find(rendered, "Deployment", "whistle-web")
    (container,) = pod_spec(web)["containers"]  # type: ignore[index]
    assert container["args"][-4:] == ["--host", "0.0.0.0", "--port", "8000"]  # noqa: S104
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    allowed_hosts = config(rendered)["ALLOWED_HOSTS"].split(",")
    paths = {}
    for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = container[probe_name]["httpGet"]
        assert ports[probe["port"]] == 8000
        headers = {h["name"]: h["value"] for h in probe["httpHeaders"]}
        # kubelet would send the pod's IP as Host (a 404) over plain HTTP (a redirect)
        assert headers["Host"] in allowed_hosts
        assert headers["X-Forwarded-Proto"] == "https"
        paths[probe_name] = probe["path"]
    assert paths == {
        "startupProbe": "/healthz",
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }
    assert config(rendered)["TRUST_X_FORWARDED_PROTO"] == "true"


@pytest.mark.django_db
@pytest.mark.parametrize("probe_name", ["startupProbe", "livenessProbe", "readinessProbe"])
def test_the_probes_as_kubelet_sends_them_reach_the_health_views(rendered, probe_name):
    """Whistle with the production HTTPS settings and the ConfigMap's ALLOWED_HOSTS answers
    each probe's request 200; without the probe's headers (kubelet sends the pod's IP as
    Host, over plain HTTP) it would not, and the pod would never become ready."""
    web = find(rendered, "Deployment", "whistle-web")
    (container,) = pod_spec(web)["containers"]  # type: ignore[index]
    probe = container[probe_name]["httpGet"]
    headers = {h["name"]: h["value"] for h in probe["httpHeaders"]}
    production_https = override_settings(
        WHISTLE_HOSTS=config(rendered)["ALLOWED_HOSTS"].split(","),
        SECURE_SSL_REDIRECT=True,
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
        CELERY_TASK_ALWAYS_EAGER=False,
    )
    with production_https:
        response = Client().get(
            probe["path"],
            HTTP_HOST=headers["Host"],
            HTTP_X_FORWARDED_PROTO=headers["X-Forwarded-Proto"],
        )
        assert response.status_code == 200, response.content
        bare = Client().get(probe["path"], HTTP_HOST="10.244.1.7:8000")
        assert bare.status_code != 200


def test_web_has_an_autoscaler_on_cpu_and_a_disruption_budget(rendered):
    web = find(rendered, "Deployment", "whistle-web")
    labels = web["spec"]["template"]["metadata"]["labels"]
    hpa = find(rendered, "HorizontalPodAutoscaler", "whistle-web")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "whistle-web",
    }
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    assert hpa["spec"]["minReplicas"] >= 2
    (pdb,) = [o for o in rendered if o["kind"] == "PodDisruptionBudget"]
    assert selects(pdb["spec"]["selector"], labels)
    assert 1 <= pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_beat_is_one_replica_replaced_never_rolled(rendered):
    beat = find(rendered, "Deployment", "whistle-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert pod_spec(beat)["containers"][0]["args"][:4] == ["celery", "-A", "whistle", "beat"]  # type: ignore[index]
    targets = [
        o["spec"]["scaleTargetRef"]["name"]
        for o in rendered
        if o["kind"] == "HorizontalPodAutoscaler"
    ]
    assert "whistle-beat" not in targets


def test_worker_runs_a_bounded_number_of_processes(rendered):
    worker = find(rendered, "Deployment", "whistle-worker")
    args = pod_spec(worker)["containers"][0]["args"]  # type: ignore[index]
    assert args[:4] == ["celery", "-A", "whistle", "worker"]
    assert int(args[args.index("--concurrency") + 1]) >= 1


def test_migrations_are_a_job_that_every_new_pod_waits_for(rendered):
    (job,) = [o for o in rendered if o["kind"] == "Job"]
    (container,) = pod_spec(job)["containers"]  # type: ignore[index]
    assert container["args"] == ["python", "manage.py", "migrate", "--noinput"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["DATABASE_URL_FILE"].startswith("/run/secrets/whistle-migrate/")
    for obj in rendered:
        if obj["kind"] != "Deployment":
            continue
        init = (pod_spec(obj) or {}).get("initContainers", [])
        assert any(
            "migrate" in " ".join(c.get("command", []))
            and '"--check"' in " ".join(c.get("command", []))
            for c in init
        ), obj["metadata"]["name"]


# --- secrets ---------------------------------------------------------------------------------


def test_no_secret_value_in_any_environment_variable(rendered):
    for obj in workloads(rendered):
        for container in containers(pod_spec(obj) or {}):
            for variable in container.get("env", []):
                name = variable["name"]
                assert "secretKeyRef" not in variable.get("valueFrom", {}), name
                if SECRET_NAME.search(name) and "value" in variable:
                    assert name.endswith("_FILE"), (container["name"], name)
                    assert variable["value"].startswith("/run/secrets/"), (container["name"], name)
            assert all("secretRef" not in source for source in container.get("envFrom", []))
    for key in config(rendered):
        assert not SECRET_NAME.search(key), key


def test_every_secret_is_a_file_of_a_mounted_secret(rendered):
    for obj in workloads(rendered):
        spec = pod_spec(obj) or {}
        for container in containers(spec):
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
            volumes = _mounts(container, spec)
            for secret in SECRETS:
                assert secret not in env, (container["name"], secret)
                path = PurePosixPath(env[f"{secret}_FILE"])
                directory = str(path.parent)
                assert "secret" in volumes[directory], (container["name"], secret)
                assert mounts[directory]["readOnly"] is True
                assert volumes[directory]["secret"]["defaultMode"] & 0o077 == 0o040


# --- network ---------------------------------------------------------------------------------


def _egress(rendered: list[dict[str, Any]], labels: dict[str, str]) -> set[tuple[str, int, str]]:
    allowed: set[tuple[str, int, str]] = set()
    for policy in rendered:
        if policy["kind"] != "NetworkPolicy" or not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to"), f"{policy['metadata']['name']}: egress to anywhere"
            assert rule.get("ports"), f"{policy['metadata']['name']}: egress on any port"
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    assert not peer["ipBlock"]["cidr"].endswith("/0"), policy["metadata"]["name"]
                    destination = "address"
                else:
                    ns = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    destination = f"{ns}/{peer['podSelector']['matchLabels']}"
                for port in rule["ports"]:
                    allowed.add((port["protocol"], port["port"], destination))
    return allowed


def _ingress(rendered: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    allowed: list[dict[str, Any]] = []
    for policy in rendered:
        if policy["kind"] != "NetworkPolicy" or not selects(policy["spec"]["podSelector"], labels):
            continue
        assert "Ingress" in policy["spec"].get("policyTypes", []) or "ingress" not in policy["spec"]
        allowed.extend(policy["spec"].get("ingress", []))
    return allowed


def test_network_policies_deny_by_default(rendered):
    policies = [o for o in rendered if o["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert len(deny) == 1
    assert sorted(deny[0]["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny[0]["spec"] and "egress" not in deny[0]["spec"]


DNS = {
    ("UDP", 53, "kube-system/{'k8s-app': 'kube-dns'}"),
    ("TCP", 53, "kube-system/{'k8s-app': 'kube-dns'}"),
}
POSTGRES, REDIS, SMTP = ("TCP", 5432, "address"), ("TCP", 6379, "address"), ("TCP", 587, "address")


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        # SMTP: the operator's flood alert is mailed from the web request that counts it
        # (intake.flood), as compose gives web the egress network.
        ("web", DNS | {POSTGRES, REDIS, SMTP}),
        ("worker", DNS | {POSTGRES, REDIS, SMTP}),
        ("beat", DNS | {POSTGRES, REDIS, SMTP}),
        ("migrate", DNS | {POSTGRES}),
    ],
)
def test_each_component_reaches_exactly_what_it_needs(rendered, component, expected):
    (workload,) = [
        o
        for o in workloads(rendered)
        if o["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    labels = workload["spec"]["template"]["metadata"]["labels"]
    assert _egress(rendered, labels) == expected


INGRESS_CONTROLLER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
}
PROMETHEUS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}


def test_only_the_ingress_controller_and_prometheus_reach_the_web_pods(rendered):
    for obj in workloads(rendered):
        labels = obj["spec"]["template"]["metadata"]["labels"]
        rules = _ingress(rendered, labels)
        if labels["app.kubernetes.io/component"] != "web":
            assert rules == [], obj["metadata"]["name"]
            continue
        peers = []
        for rule in rules:
            assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
            peers.extend(rule["from"])
        # Prometheus only from its own pods, not from anything in its namespace
        assert sorted(peers, key=str) == sorted([INGRESS_CONTROLLER, PROMETHEUS], key=str)


def _scrape_config() -> dict[str, Any]:
    """The Kubernetes scrape configuration docs/operations.md ("Observability") gives."""
    text = (K8S.parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    (block,) = [b for b in blocks if "kubernetes_sd_configs" in b]
    (job,) = yaml.safe_load(block)["scrape_configs"]
    assert isinstance(job, dict)
    return job


def test_the_documented_scrape_config_finds_exactly_the_web_containers(rendered):
    """Relabelling as Prometheus does: of every container port of every pod, the scrape
    configuration keeps the web pods' port that serves /metrics, in the namespace the
    manifests use, and nothing of worker, beat or the migration Job."""
    job = _scrape_config()
    (discovery,) = job["kubernetes_sd_configs"]
    assert discovery["role"] == "pod"
    kept = set()
    for obj in workloads(rendered):
        labels = obj["spec"]["template"]["metadata"]["labels"]
        namespace = obj["metadata"]["namespace"]
        if namespace not in discovery["namespaces"]["names"]:
            continue
        for container in (pod_spec(obj) or {})["containers"]:
            for port in container.get("ports", []):
                meta = {
                    "__meta_kubernetes_pod_container_port_name": port.get("name", ""),
                    **{
                        "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", k): v
                        for k, v in labels.items()
                    },
                }
                keep = True
                for step in job["relabel_configs"]:
                    if step.get("action") != "keep":
                        continue
                    value = ";".join(meta.get(label, "") for label in step["source_labels"])
                    keep = keep and re.fullmatch(step["regex"], value) is not None
                if keep:
                    kept.add((obj["metadata"]["name"], container["name"], port["containerPort"]))
    assert kept == {("whistle-web", "web", 8000)}
    # The port Prometheus then scrapes is one the web NetworkPolicy lets it reach.
    web = find(rendered, "Deployment", "whistle-web")
    rules = _ingress(rendered, web["spec"]["template"]["metadata"]["labels"])
    assert any(
        PROMETHEUS in r["from"] and {"protocol": "TCP", "port": 8000} in r["ports"] for r in rules
    )


def test_postgres_and_redis_are_external_services(rendered):
    for name in ("whistle-postgres", "whistle-redis"):
        service = find(rendered, "Service", name)
        assert service["spec"]["type"] == "ExternalName"
        assert "example.org" not in service["spec"]["externalName"]  # the overlay set it


# --- ingress ---------------------------------------------------------------------------------

CLIENT_VARIABLES = (
    "$remote_addr",
    "$realip_remote_addr",
    "$binary_remote_addr",
    "$http_x_forwarded_for",
    "$proxy_add_x_forwarded_for",
    "$http_user_agent",
    "$http_referer",
    "$request",
    "$uri",
    "$remote_user",
    "$http_cookie",
)


def test_the_ingress_logs_nothing_and_buffers_no_plaintext(rendered):
    ingress = find(rendered, "Ingress", "whistle")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/enable-access-log"] == "false"
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert ingress["spec"]["tls"]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] in config(rendered)["ALLOWED_HOSTS"].split(",")
    backend = rule["http"]["paths"][0]["backend"]["service"]
    service = find(rendered, "Service", backend["name"])
    (port,) = [p for p in service["spec"]["ports"] if p["name"] == backend["port"]["name"]]
    web = find(rendered, "Deployment", "whistle-web")
    assert selects(
        {"matchLabels": service["spec"]["selector"]}, web["spec"]["template"]["metadata"]["labels"]
    )
    assert port["targetPort"] in {p["name"] for p in pod_spec(web)["containers"][0]["ports"]}  # type: ignore[index]


def test_metrics_are_refused_at_the_ingress_for_every_host(rendered):
    """/metrics is for Prometheus inside the cluster: for every host the Ingress serves, a
    second Ingress takes /metrics and /metrics/… and denies every client address (as the
    Caddyfile answers 404), without an access log."""
    ingresses = [o for o in rendered if o["kind"] == "Ingress"]
    served = {r["host"] for o in ingresses for r in o["spec"]["rules"]}
    (denied,) = [o for o in ingresses if "metrics" in o["metadata"]["name"]]
    annotations = denied["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/denylist-source-range"] == "0.0.0.0/0,::/0"
    assert annotations["nginx.ingress.kubernetes.io/enable-access-log"] == "false"
    assert {r["host"] for r in denied["spec"]["rules"]} == served
    for rule in denied["spec"]["rules"]:
        paths = {(p["path"], p["pathType"]) for p in rule["http"]["paths"]}
        assert paths == {("/metrics", "Exact"), ("/metrics/", "Prefix")}
    assert (
        denied["spec"]["ingressClassName"]
        == find(rendered, "Ingress", "whistle")["spec"]["ingressClassName"]
    )


def test_the_controller_log_format_holds_no_client_data():
    (configmap,) = load_documents(EXAMPLES / "ingress-nginx-controller-configmap.yaml")
    data = configmap["data"]
    log_format = data["log-format-upstream"]
    used = set(re.findall(r"\$[a-z_]+", log_format))
    assert used and used.isdisjoint(CLIENT_VARIABLES), used & set(CLIENT_VARIABLES)
    assert data["use-forwarded-headers"] == "false"
    assert data["error-log-level"] in ("crit", "alert", "emerg")


def test_the_cloudnative_pg_example_is_a_cluster():
    (cluster,) = load_documents(EXAMPLES / "cloudnative-pg-cluster.yaml")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1" and cluster["kind"] == "Cluster"
    assert cluster["spec"]["instances"] >= 2
    assert cluster["spec"]["postgresql"]["parameters"]["jit"] == "off"
