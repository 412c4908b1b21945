"""The layers import one way (DESIGN §2): the import contracts in pyproject.toml pass, and a
back-import or a domain module importing an entry point makes them fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crypto", "whistle", "intake", "chat", "casework", "console")
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "locale", "static", "templates")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_contracts_hold() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [
        # chat below casework: it announces with a signal instead.
        ("chat/services.py", "import casework.notices", "chat is not allowed to import casework"),
        # a function-level import is an import all the same
        (
            "intake/services.py",
            "def _hidden() -> None:\n    import chat.services",
            "intake is not allowed to import chat",
        ),
        ("whistle/vault.py", "import intake.models", "whistle is not allowed to import intake"),
        # a service queueing a task itself: tasks sit on top
        ("casework/reminders.py", "import casework.tasks", "protected package casework.tasks"),
        ("chat/live.py", "import chat.consumers", "protected package chat.consumers"),
    ],
)
def test_a_back_import_breaks_them(copy: Path, module: str, line: str, expected: str) -> None:
    path = copy / module
    original = path.read_text()
    try:
        path.write_text(original + "\n\n" + line + "  # noqa\n")
        result = lint(copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert expected in result.stdout, result.stdout
