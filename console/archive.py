"""The off-boarding archive: its format, and the command that opens it with recovery keys.

A tenant leaving Whistle gets everything it owns as one ZIP file (``console.offboarding``
writes it). The archive holds **ciphertexts only**: the server has no key to any case, so it
exports the cases as they are stored, with the one copy of each office's private key that the
office itself can open — the copy wrapped under its recovery key. Whoever holds the office
recovery key (printed when the office keys were created) opens the cases; nobody else can,
the operator included.

Layout::

    manifest.json                  format, tenant, offices and their key generations, case index
    settings.json                  tenant settings, host names, offices, staff roles (no secrets)
    questionnaires/v<N>.json       every questionnaire version
    audit/events.json              the tenant's audit trail (no content, as stored)
    audit/head.json                the chain's verification head (sequence and digest)
    cases/<case id>/case.json      the case's rows (binary fields base64), and an index of its
                                   encrypted items with the exact context each was bound to
    cases/<case id>/files/<id>     attachment contents, encrypted streams as stored

The opener below needs only this module and the ``crypto`` package — no database, no Django:
every ``info``/``context`` a ciphertext was bound to is written next to it, so the opener does
not have to know Whistle's record formats. A tampered context only makes decryption fail.

    python -m console.archive open whistle-export.zip OUTPUT-DIR < recovery-keys.txt

(one office recovery key per line; ``manage.py tenant_archive_open`` does the same.)
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, cast

import crypto

FORMAT = "whistle-tenant-export"
FORMAT_VERSION = 1


class ArchiveError(Exception):
    """The archive cannot be opened: a message for the person running the command."""


def b64(data: bytes | memoryview | None) -> str | None:
    return None if data is None else base64.b64encode(bytes(data)).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass
class OpenReport:
    offices_opened: list[str] = field(default_factory=list)
    offices_locked: list[str] = field(default_factory=list)
    cases: int = 0
    cases_locked: int = 0
    records: int = 0
    files: int = 0


def _office_privates(
    office: Mapping[str, Any], recovery_keys: Iterable[crypto.RecoveryKey]
) -> dict[int, bytes] | None:
    """Every generation's private key of ``office``, or None if no recovery key opens it.

    The recovery key unwraps the current generation; older generations are each sealed to
    their successor (key rotation), so the chain is walked downwards from the current one."""
    current = office.get("recovery")
    if current is None:
        return None
    wrapped, context = unb64(current["wrapped"]), current["context"].encode()
    private = None
    for recovery in recovery_keys:
        try:
            private = crypto.unwrap_key(recovery.key, wrapped, context=context)
        except crypto.DecryptionError:
            continue
        break
    if private is None:
        return None
    privates = {int(current["version"]): private}
    chain = sorted(office.get("chain", []), key=lambda link: -int(link["from"]))
    for link in chain:
        newer = privates.get(int(link["to"]))
        if newer is None:
            continue
        privates[int(link["from"])] = crypto.unseal(
            newer, unb64(link["sealed"]), info=link["info"].encode()
        )
    return privates


def _safe_part(value: str) -> str:
    """A path component from the archive: refuse anything that could leave the output dir."""
    if not value or "/" in value or "\\" in value or value in {".", ".."}:
        raise ArchiveError(f"unexpected name in the archive: {value!r}")
    return value


def open_archive(archive: Path, output: Path, recovery_texts: Iterable[str]) -> OpenReport:
    """Decrypt every case that one of ``recovery_texts`` opens into ``output``.

    Writes ``output/cases/<case id>/`` with ``records.json`` (each decrypted record: answers,
    contact details, messages, notes, file descriptions) and ``files/`` (decrypted file
    contents, named by the file's id and its original name). Settings, questionnaires and the
    audit trail are copied as they are. Raises :class:`ArchiveError` for an archive that is not
    a Whistle export, and ``crypto.RecoveryKeyFormatError`` for a mistyped recovery key.
    """
    keys = [crypto.parse_recovery_key(text) for text in recovery_texts if text.strip()]
    if not keys:
        raise ArchiveError("no recovery key given")
    report = OpenReport()
    try:
        bundle = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as error:
        raise ArchiveError(f"not a readable ZIP file ({type(error).__name__})") from None
    with bundle:
        try:
            manifest = json.loads(bundle.read("manifest.json"))
        except KeyError:
            raise ArchiveError("manifest.json is missing: not a Whistle export") from None
        if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
            raise ArchiveError("not a Whistle tenant export of a format this command knows")
        output.mkdir(parents=True, exist_ok=True)
        for name in bundle.namelist():
            path = PurePosixPath(name)
            if path.parts and path.parts[0] in {"settings.json", "questionnaires", "audit"}:
                target = output.joinpath(*(_safe_part(part) for part in path.parts))
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(bundle.read(name))
        privates: dict[str, dict[int, bytes]] = {}
        for office in manifest["offices"]:
            opened = _office_privates(office, keys)
            if opened is None:
                report.offices_locked.append(office["name"])
            else:
                privates[office["id"]] = opened
                report.offices_opened.append(office["name"])
        for case_id in manifest["cases"]:
            folder = f"cases/{_safe_part(case_id)}"
            data = json.loads(bundle.read(f"{folder}/case.json"))
            report.cases += 1
            key = data["key"]
            private = privates.get(key["office"] or "", {}).get(int(key["version"] or 0))
            if private is None or key["sealed"] is None:
                report.cases_locked += 1
                continue
            case_key = crypto.unseal(private, unb64(key["sealed"]), info=key["info"].encode())
            target = output / "cases" / _safe_part(case_id)
            (target / "files").mkdir(parents=True, exist_ok=True)
            records = []
            for item in data["encrypted"]:
                context = crypto.RecordContext(**item["context"])
                plain = crypto.decrypt_record(case_key, unb64(item["ciphertext"]), context=context)
                try:
                    content: Any = json.loads(plain)
                except ValueError:
                    content = plain.decode("utf-8", errors="replace")
                records.append({"what": item["what"], "id": item["id"], "content": content})
                report.records += 1
            (target / "case.json").write_text(
                json.dumps(data["case"], indent=2, ensure_ascii=False), encoding="utf-8"
            )
            (target / "records.json").write_text(
                json.dumps(records, indent=2, ensure_ascii=False), encoding="utf-8"
            )
            for item in data["files"]:
                file_id = _safe_part(item["id"])
                with (
                    bundle.open(f"{folder}/files/{file_id}") as source,
                    (target / "files" / file_id).open("wb") as sink,
                ):
                    crypto.decrypt_stream(
                        case_key,
                        cast(BinaryIO, source),
                        cast(BinaryIO, sink),
                        context=item["context"].encode(),
                    )
                report.files += 1
    return report


def _say(text: str, *, error: bool = False) -> None:
    (sys.stderr if error else sys.stdout).write(text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m console.archive",
        description="Open a Whistle tenant export with the office recovery keys "
        "(read from standard input, one per line).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    opener = commands.add_parser("open", help="decrypt an export into a directory")
    opener.add_argument("archive", type=Path)
    opener.add_argument("output", type=Path)
    opener.add_argument(
        "--recovery-key-file",
        type=Path,
        help="read the recovery keys from this file instead of standard input",
    )
    args = parser.parse_args(argv)
    if args.recovery_key_file is not None:
        texts = args.recovery_key_file.read_text(encoding="utf-8").splitlines()
    else:
        texts = sys.stdin.read().splitlines()
    try:
        report = open_archive(args.archive, args.output, texts)
    except crypto.RecoveryKeyFormatError as error:
        where = f" in group {error.group}" if error.group is not None else ""
        _say(f"A recovery key has a typing error{where}.", error=True)
        return 2
    except ArchiveError as error:
        _say(str(error), error=True)
        return 2
    _say(
        f"Opened {report.cases - report.cases_locked} of {report.cases} cases "
        f"({report.records} records, {report.files} files) into {args.output}."
    )
    if report.offices_locked:
        _say(
            "No recovery key given opens these offices: " + ", ".join(report.offices_locked),
            error=True,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
