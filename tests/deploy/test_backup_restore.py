"""deploy/backup.sh and deploy/restore.sh, end to end (issue 14, point 6).

On a database of the test's own (not pytest-django's) and a MEDIA_ROOT under tmp_path: a report
with a file and a handler's message are filed through the real pages and services; backup.sh
writes an archive encrypted to an operator key made by age-keygen; the archive holds nothing
readable; database and file store are wiped; restore.sh brings them back and migrates; the
reporter's receipt opens the case with its message and file, the handler reads it after a
password login, and the orphan purge keeps the restored files. Everything inside Whistle runs in
processes of their own (``tests/deploy/backup_scenario.py``), as the scripts do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.plugins.sensitive import SensitiveRegistry

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "deploy" / "backup.sh"
RESTORE = ROOT / "deploy" / "restore.sh"
ADMIN_URL = "postgres://postgres@127.0.0.1:5432"
# Filed by tests/deploy/backup_scenario.py, which runs in processes of its own (this module must
# not import it: it sets Django up for its own database).
ANSWER = "SENTINEL-backup-answer-kickbacks-8181"
MESSAGE = "SENTINEL-backup-handler-message-8282"
FILE = "SENTINEL-backup-file-invoice-8383"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is missing: bin/test installs it (Debian packages age, postgresql-client)"
        )
    return path


def psql(*args: str) -> None:
    subprocess.run(
        [tool(args[0]), "--host", "127.0.0.1", "--username", "postgres", *args[1:]],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of this test's own, dropped afterwards."""
    name = f"whistle_backup_test_{uuid.uuid4().hex[:10]}"
    psql("createdb", name)
    try:
        yield name
    finally:
        psql("dropdb", "--if-exists", "--force", name)


def operator_keys(tmp_path: Path) -> tuple[Path, Path]:
    """The operator's key pair (age-keygen): the private key file and the public key file, the
    only one the backup side is given."""
    age_keygen = tool("age-keygen")
    key = tmp_path / "operator-key.txt"
    subprocess.run([age_keygen, "-o", str(key)], check=True, capture_output=True, timeout=30)
    public = tmp_path / "operator.pub"
    public.write_text(
        subprocess.run(
            [age_keygen, "-y", str(key)], check=True, capture_output=True, text=True, timeout=30
        ).stdout
    )
    return key, public


def run(
    args: list[str], env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    if check and result.returncode != 0:
        # The scripts and the scenario print no content; show what they said.
        pytest.fail(f"{args[0]} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def scenario(step: str, state: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "tests.deploy.backup_scenario", step, str(state)], env)


def test_backup_wipe_restore(
    own_database: str, tmp_path: Path, sensitive: SensitiveRegistry
) -> None:
    tool("age")
    sensitive.add(ANSWER, MESSAGE, FILE)
    media = tmp_path / "media"
    media.mkdir()
    backups = tmp_path / "backups"
    backups.mkdir()
    url_file = tmp_path / "database-url"
    url_file.write_text(f"{ADMIN_URL}/{own_database}\n")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
        "PYTHON": sys.executable,
        "MEDIA_ROOT": str(media),
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": f"{ADMIN_URL}/{own_database}",
    }
    env.pop("DATABASE_URL_FILE", None)
    state = tmp_path / "state.json"
    set_up = scenario("setup", state, env)
    data = json.loads(state.read_text())
    receipt = data["receipt"]
    sensitive.add(receipt, receipt.replace("-", ""))
    attachment_ciphertext = (media / data["attachment"]).read_bytes()

    key, public = operator_keys(tmp_path)
    # backup.sh reads the database URL from a file, as production secrets are given.
    backup_env = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    backup_env["DATABASE_URL_FILE"] = str(url_file)
    made = run([str(BACKUP), "--recipients", str(public), "--output-dir", str(backups)], backup_env)
    archive = Path(made.stdout.strip())
    assert re.fullmatch(r"whistle-backup-\d{8}T\d{6}Z\.tar", archive.name)
    assert "NOT in this backup: SECRET_KEY and RECEIPT_PEPPER" in made.stderr
    assert sorted(p.name for p in backups.iterdir()) == [archive.name, archive.name + ".sha256"]
    assert (
        subprocess.run(
            ["sha256sum", "--check", "--status", archive.name + ".sha256"],
            cwd=backups,
            check=False,
            timeout=30,
        ).returncode
        == 0
    )

    # Nothing readable: not the content or the receipt, and not what is plain in the database
    # (table names, staff addresses) or the file store's bytes, so the dump and the tar are
    # encrypted themselves, not only the content inside them.
    blob = archive.read_bytes()
    for secret in (ANSWER, MESSAGE, FILE, receipt, receipt.replace("-", "")):
        assert secret.encode() not in blob and secret.lower().encode() not in blob
    for plain in (b"intake_case", b"handler@alpha.example", b"Alphastadt", b"files/"):
        assert plain not in blob, plain
    assert attachment_ciphertext[64:128] not in blob

    # Disaster: the database and the file store are gone.
    psql("dropdb", "--force", own_database)
    psql("createdb", own_database)
    shutil.rmtree(media)
    media.mkdir()

    # Another key opens nothing and restores nothing.
    (tmp_path / "other").mkdir()
    other_key, _public = operator_keys(tmp_path / "other")
    refused = run([str(RESTORE), "--identity", str(other_key), str(archive)], env, check=False)
    assert refused.returncode != 0
    assert "age could not decrypt the database part" in refused.stderr
    assert list(media.iterdir()) == []

    restored = run([str(RESTORE), "--identity", str(key), str(archive)], env)
    assert "Applying casework.0003_flood_digest" in restored.stdout  # the older schema upgraded
    assert "SAME RECEIPT_PEPPER" in restored.stderr
    verified = scenario("verify", state, env)

    # A second restore refuses the database it would overwrite.
    again = run([str(RESTORE), "--identity", str(key), str(archive)], env, check=False)
    assert again.returncode != 0
    assert "is not empty" in again.stderr
    # --force replaces what the backup holds, and the result is the same.
    forced = run([str(RESTORE), "--force", "--identity", str(key), str(archive)], env)
    assert "Applying casework.0003_flood_digest" in forced.stdout
    verified_again = scenario("verify", state, env)

    # What the scripts (and Whistle around them) printed holds no content and no receipt.
    said = "".join(
        r.stdout + r.stderr
        for r in (set_up, made, refused, restored, verified, again, forced, verified_again)
    )
    for secret in (ANSWER, MESSAGE, FILE, receipt, receipt.replace("-", "")):
        assert secret not in said


def test_backup_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    """An unreachable database: a non-zero exit, a message, and no archive (not a partial one)."""
    key, public = operator_keys(tmp_path)
    media = tmp_path / "media"
    media.mkdir()
    backups = tmp_path / "backups"
    backups.mkdir()
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "MEDIA_ROOT": str(media),
        # Port 9 (discard) refuses on loopback.
        "DATABASE_URL": "postgres://postgres:not-shown@127.0.0.1:9/whistle",
        "PGCONNECT_TIMEOUT": "2",
    }
    env.pop("DATABASE_URL_FILE", None)
    failed = run([str(BACKUP), "-r", str(public), "-o", str(backups)], env, check=False)
    assert failed.returncode != 0
    assert "pg_dump failed" in failed.stderr and "no backup was written" in failed.stderr
    assert "not-shown" not in failed.stdout + failed.stderr
    assert list(backups.iterdir()) == []
    # The private key is refused as a recipient: it must stay offline.
    wrong = run([str(BACKUP), "-r", str(key), "-o", str(backups)], env, check=False)
    assert wrong.returncode != 0 and "private key" in wrong.stderr
