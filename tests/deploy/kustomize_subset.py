"""The part of kustomize that deploy/k8s uses, to render an overlay without kubectl.

Supported: ``resources`` (files and kustomization directories), ``images`` (name → newName,
newTag, digest on containers and init containers) and ``patches`` given by ``path``: a
strategic-merge patch (a partial object, found by kind, name and namespace; mappings merge,
lists are replaced: deploy/k8s patches no list that kustomize would merge by key) or, with a
``target``, a JSON 6902 patch (``replace`` and ``add``). Any other key is refused, so that a
manifest never relies on something this renderer would silently skip. tests/deploy/test_k8s.py
compares the result with ``kubectl kustomize`` where kubectl is installed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "images", "patches"}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def load_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def render(directory: Path) -> list[dict[str, Any]]:
    kustomization_file = directory / "kustomization.yaml"
    (kustomization,) = load_documents(kustomization_file)
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        raise ValueError(f"{kustomization_file}: unsupported keys {sorted(unsupported)}")
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            objects.extend(render(target))
        else:
            if not target.is_relative_to(directory.resolve()):
                raise ValueError(f"{entry}: a file outside the kustomization's directory")
            objects.extend(load_documents(target))
    keys = [_key(obj) for obj in objects]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{directory}: an object is listed twice")
    for patch in kustomization.get("patches", []):
        _apply_patch(directory, patch, objects)
    for image in kustomization.get("images", []):
        _apply_image(image, objects)
    return objects


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] not in POD_TEMPLATE_KINDS:
        return None
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def _apply_image(image: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise ValueError(f"images: unsupported keys {sorted(unknown)}")
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container in containers(spec):
            reference = container["image"]
            name = reference.split("@", 1)[0]
            tag = ""
            if ":" in name.rsplit("/", 1)[-1]:
                name, tag = name.rsplit(":", 1)
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{name}@{image['digest']}"
            else:
                tag = image.get("newTag", tag)
                container["image"] = f"{name}:{tag}" if tag else name


def _apply_patch(directory: Path, patch: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    unknown = set(patch) - {"path", "target"}
    if unknown or "path" not in patch:
        raise ValueError(f"patches: only path (and target) are supported, not {patch}")
    if "target" in patch:
        target = patch["target"]
        with (directory / patch["path"]).open(encoding="utf-8") as handle:
            operations = yaml.safe_load(handle)
        if not isinstance(operations, list):
            raise ValueError(f"{patch['path']}: a JSON 6902 patch is a list of operations")
        matches = [
            obj
            for obj in objects
            if obj["kind"] == target["kind"] and obj["metadata"]["name"] == target["name"]
        ]
        if len(matches) != 1:
            raise ValueError(f"patch target {target} matches {len(matches)} objects")
        for operation in operations:
            _json_patch(matches[0], operation)
        return
    for partial in load_documents(directory / patch["path"]):
        matches = [obj for obj in objects if _key(obj) == _key(partial)]
        if len(matches) != 1:
            raise ValueError(f"patch {_key(partial)} matches {len(matches)} objects")
        merged = _merge(matches[0], partial)
        matches[0].clear()
        matches[0].update(merged)


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        result = dict(base)
        for key, value in patch.items():
            result[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return result
    return copy.deepcopy(patch)


def _json_patch(obj: dict[str, Any], operation: dict[str, Any]) -> None:
    if operation["op"] not in ("replace", "add"):
        raise ValueError(f"JSON patch operation {operation['op']} is not supported")
    parts = [
        part.replace("~1", "/").replace("~0", "~") for part in operation["path"][1:].split("/")
    ]
    node: Any = obj
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if operation["op"] == "add":
            node.insert(index, operation["value"])
        else:
            node[index] = operation["value"]
    else:
        if operation["op"] == "replace" and last not in node:
            raise ValueError(f"JSON patch: {operation['path']} does not exist")
        node[last] = operation["value"]
