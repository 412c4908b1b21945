"""The committed German catalogue is complete, compiled and keeps every placeholder.

German is the default language and must be complete at all times. The completeness check
regenerates the catalogue from a copy of the source, exactly as a developer would with
``makemessages``, so a new string in Python or a template that nobody translated fails here with
its msgid in the message.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("whistle", "intake", "casework", "chat", "console", "crypto")
CATALOGUE = Path("whistle", "locale", "de", "LC_MESSAGES")
COMMITTED_PO = ROOT / CATALOGUE / "django.po"
COMMITTED_MO = ROOT / CATALOGUE / "django.mo"
# Environment variables the subprocess may inherit; everything else (the test settings' database,
# secrets, WHISTLE_MODE=test, DJANGO_SETTINGS_MODULE=tests.settings) stays out.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "SYSTEMROOT")
PLACEHOLDER = re.compile(r"%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
PROBE = "Untranslated probe string for the catalogue check"


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        text = self.msgid if self.msgctxt is None else f"[{self.msgctxt}] {self.msgid}"
        return repr(text)


def _unquote(line: str) -> str:
    line = line.strip()
    assert line.startswith('"') and line.endswith('"'), f"not a PO string: {line!r}"
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(1)), line[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """The active (non-obsolete) entries of a PO file, header included (msgid "")."""
    entries: list[Entry] = []
    current = Entry()
    started = False
    target: tuple[str, int] | None = None  # which field continuation lines extend

    def finish() -> None:
        nonlocal current, started, target
        if started:
            entries.append(current)
        current, started, target = Entry(), False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue  # obsolete
        if line.startswith("#,"):
            if started and target is not None and target[0] == "msgstr":
                finish()
            current.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            assert target is not None, f"continuation without a keyword in {path}: {raw!r}"
            kind, index = target
            text = _unquote(line)
            if kind == "msgstr":
                current.msgstr[index] += text
            else:
                setattr(current, kind, (getattr(current, kind) or "") + text)
            continue
        keyword, _, value = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and started and target and target[0] == "msgstr":
            finish()  # a new entry without a blank line in between
        started = True
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if match:
            target = ("msgstr", int(match.group(1)))
            current.msgstr[target[1]] = _unquote(value)
        elif keyword == "msgstr":
            target = ("msgstr", 0)
            current.msgstr[0] = _unquote(value)
        elif keyword in ("msgid", "msgid_plural", "msgctxt"):
            target = (keyword, 0)
            setattr(current, keyword, _unquote(value))
        else:
            raise AssertionError(f"unexpected line in {path}: {raw!r}")
    finish()
    return entries


def problems(entries: list[Entry]) -> list[str]:
    """One line per entry that is untranslated (any empty msgstr) or fuzzy."""
    found = []
    for entry in entries:
        if entry.msgid == "" and entry.msgctxt is None:
            if "fuzzy" in entry.flags:  # msgfmt would drop the header, charset and plural forms
                found.append("fuzzy (check and remove the flag): the header")
            continue
        if not entry.msgstr or not all(entry.msgstr.values()):
            found.append(f"untranslated: {entry.label}")
        elif "fuzzy" in entry.flags:
            found.append(f"fuzzy (check and remove the flag): {entry.label}")
    return found


def copy_source(destination: Path) -> Path:
    destination.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "var", ".venv")
    for name in SOURCE_DIRS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, destination / name, ignore=ignore)
    shutil.copy2(ROOT / "manage.py", destination / "manage.py")
    return destination


def regenerate(copy: Path, var_dir: Path) -> Path:
    """Run makemessages in the copy; the German PO file it wrote."""
    env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    env.update(
        WHISTLE_MODE="quickstart",
        WHISTLE_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="whistle.settings",
        PYTHONDONTWRITEBYTECODE="1",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "de", "--no-location", "--no-obsolete"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    return copy / CATALOGUE / "django.po"


def report(found: list[str]) -> str:
    return (
        f"The German catalogue {CATALOGUE / 'django.po'} is not complete ({len(found)} entries). "
        "Run makemessages (see the README), translate these and run compilemessages:\n  "
        + "\n  ".join(found)
    )


def test_committed_german_catalogue_covers_every_source_string(tmp_path: Path) -> None:
    po = regenerate(copy_source(tmp_path / "src"), tmp_path / "var")
    entries = parse_po(po)
    assert len(entries) > 1, f"makemessages found no strings in {po}"
    found = problems(entries)
    assert not found, report(found)


def test_completeness_check_names_a_new_untranslated_string(tmp_path: Path) -> None:
    copy = copy_source(tmp_path / "src")
    (copy / "whistle" / "translation_probe.py").write_text(
        f'from django.utils.translation import gettext as _\n\n_("{PROBE}")\n', encoding="utf-8"
    )
    found = problems(parse_po(regenerate(copy, tmp_path / "var")))
    assert f"untranslated: {PROBE!r}" in found
    assert repr(PROBE) in report(found)


def _catalog(mo: Path) -> tuple[dict[object, str], dict[str, str]]:
    with mo.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    catalog: dict[object, str] = dict(vars(translations)["_catalog"])
    # The header differs whenever makemessages refreshes the creation date; compare only the
    # fields that change how messages are looked up.
    catalog.pop("", None)
    info = translations.info()
    header = {key: info.get(key, "") for key in ("language", "content-type", "plural-forms")}
    return catalog, header


def test_committed_mo_matches_the_committed_po(tmp_path: Path) -> None:
    assert COMMITTED_MO.is_file(), f"{COMMITTED_MO} is missing: run compilemessages"
    fresh = tmp_path / "tmp.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(COMMITTED_PO)], check=True)
    committed_catalog, committed_header = _catalog(COMMITTED_MO)
    fresh_catalog, fresh_header = _catalog(fresh)
    stale = sorted(
        repr(key)
        for key in committed_catalog.keys() | fresh_catalog.keys()
        if committed_catalog.get(key) != fresh_catalog.get(key)
    )
    assert not stale, (
        f"{COMMITTED_MO.relative_to(ROOT)} is out of date; run "
        "`python manage.py compilemessages -l de`. Differing msgids:\n  " + "\n  ".join(stale)
    )
    assert committed_header == fresh_header


def test_translations_keep_every_placeholder() -> None:
    wrong = []
    for entry in parse_po(COMMITTED_PO):
        if entry.msgid == "":
            continue
        for index, text in entry.msgstr.items():
            if not text:
                continue  # reported by the completeness test
            source = entry.msgid if index == 0 or entry.msgid_plural is None else entry.msgid_plural
            expected = sorted(set(PLACEHOLDER.findall(source)))
            actual = sorted(set(PLACEHOLDER.findall(text)))
            if expected != actual:
                wrong.append(f"{entry.label}: expected {expected}, msgstr[{index}] has {actual}")
    assert not wrong, "Placeholders differ between msgid and msgstr:\n  " + "\n  ".join(wrong)
