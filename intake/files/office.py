"""Office (DOCX, XLSX, PPTX) and OpenDocument (ODT, ODS, ODP) files: the ZIP is rewritten.

Each member is copied into a new ZIP written straight to ``dst`` (``zipfile`` streams to an
unseekable writer, using data descriptors), except the parts :mod:`intake.files.parts` edits
and the JPEG/PNG pictures whose metadata :mod:`intake.files.segments` cuts out. The ZIP itself
loses its own traces: member timestamps (LibreOffice stores the save time), extra fields (Unix
owner ids, precise times) and comments. Member order, names and stored-or-deflated stay as they
were (the ODF ``mimetype`` member is always stored). Because ``dst`` cannot seek, every member
gets a data descriptor: Office, LibreOffice and ``zipfile`` read the central directory and
do not mind; strictly streaming readers (Java's ``ZipInputStream``) reject stored members
written that way.

Not cleaned: embedded objects (a spreadsheet inside a presentation, OLE objects), videos and
sounds (these three are listed in the report's ``remaining``), macros, custom XML data parts
(e.g. SharePoint properties), pictures other than JPEG and PNG, and the text itself. Dates
of PowerPoint and Excel comments stay.

Hostile archives: more than ``MAX_MEMBERS`` members or ``MAX_TOTAL`` declared uncompressed
bytes is not cleaned; ``zipfile`` never returns more than a member's declared size, and checks
each member's CRC. Every member is read once before anything is written (a damaged member
fails then), and again while writing: memory holds one edited part or picture at a time
(at most ``MAX_PART`` bytes; a larger picture is left as it is, a larger XML part makes the
file "too large"), never the whole file.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from typing import BinaryIO

from intake.files import labels, parts
from intake.files._base import CHUNK, Prepared, Uncleanable
from intake.files.labels import Info
from intake.files.segments import PNG_SIGNATURE, strip_jpeg, strip_png
from intake.files.sniff import FileKind

MAX_MEMBERS = 10_000
MAX_TOTAL = 512 << 20
MAX_PART = 64 << 20
_EPOCH = (1980, 1, 1, 0, 0, 0)  # what Office itself writes for every member
_ODF = (FileKind.ODT, FileKind.ODS, FileKind.ODP)
_PICTURE = re.compile(r"^(?:word|xl|ppt)/media/|^Pictures/|^docProps/thumbnail", re.IGNORECASE)
# Embedded documents and OLE objects, and media other than pictures (videos, sounds, HEIC ...):
# left as they are, and reported as such.
_EMBEDDED = re.compile(
    r"^(?:word|xl|ppt)/embeddings/|^Object \d+/|"
    r"^(?:(?:word|xl|ppt)/media|Pictures)/.*(?<!\.jpg)(?<!\.jpeg)(?<!\.jpe)(?<!\.png)"
    r"(?<!\.emf)(?<!\.wmf)(?<!\.svg)(?<!\.gif)(?<!\.bmp)$",
    re.IGNORECASE,
)
_ROLE = re.compile(rb'Type="[^"]*/(core-properties|extended-properties|custom-properties)"')
_PROPERTY_TYPES = {
    "core-properties": "docProps/core.xml",
    "extended-properties": "docProps/app.xml",
    "custom-properties": "docProps/custom.xml",
}


def prepare(src: BinaryIO, kind: FileKind) -> Prepared:
    """Check the archive and clean every member once, for the report; nothing is kept.

    Raises :class:`Uncleanable` when the archive is too large, ``ValueError`` and
    ``zipfile``'s errors when it is damaged.
    """
    archive = zipfile.ZipFile(src)
    try:
        members = _members(archive)
        found = _run(archive, members, kind, out=None)
    except BaseException:
        archive.close()
        raise
    remaining = {Info.EMBEDDED} if any(_EMBEDDED.search(m.filename) for m in members) else set()
    return Prepared(
        found, lambda out: _write(archive, members, kind, out), archive.close, remaining
    )


def _members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_TOTAL:
        raise Uncleanable(labels.DOCUMENT_TOO_LARGE)
    if len({m.filename for m in members}) != len(members):
        raise ValueError("duplicate member names")
    return members


def _write(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], kind: FileKind, out: BinaryIO
) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        _run(archive, members, kind, out=target)


def _run(
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    kind: FileKind,
    *,
    out: zipfile.ZipFile | None,
) -> set[Info]:
    """Clean every member; write the result to ``out``, or only read (``out`` None)."""
    found: set[Info] = set()
    if any(m.date_time != _EPOCH for m in members if not m.is_dir()):
        found.add(Info.EDIT_DATES)
    if archive.comment or any(m.comment for m in members):
        found.add(Info.TEXT_NOTES)
    roles = {} if kind in _ODF else _property_parts(archive)
    names = parts.Pseudonyms()
    for member in members:
        name = member.filename
        if roles.get(name) == "custom-properties":
            found.add(Info.CUSTOM)
            continue  # dropped, with its references (below)
        edit = _edit(kind, name, roles.get(name))
        if edit is None or (edit is _picture and member.file_size > MAX_PART):
            _copy(archive, member, out, kind)
            continue
        data, what = edit(name, _read(archive, member), names)
        if name in ("[Content_Types].xml", "_rels/.rels"):
            for part, role in roles.items():
                if role == "custom-properties":
                    data = parts.drop_references(data, part)
        found |= what
        if out is not None:
            out.writestr(_info(member, kind), data)
    return found


def _edit(kind: FileKind, name: str, role: str | None) -> parts.Editor | None:
    """The function that rewrites member ``name``, or None to copy it as it is."""
    if role == "core-properties":
        return lambda _n, data, _p: (parts.CORE_XML, parts.properties_found(data))
    if role == "extended-properties":
        return lambda _n, data, _p: (parts.APP_XML, parts.properties_found(data))
    if _PICTURE.search(name) and name.lower().endswith((".jpg", ".jpeg", ".jpe", ".png")):
        return _picture
    if name.endswith(".rels") or name in ("[Content_Types].xml",):
        return lambda _n, data, _p: parts.local_paths(data)
    if not name.endswith(".xml"):
        return None
    if kind in _ODF:
        if name == "meta.xml":
            return lambda _n, data, _p: parts.odf_meta(data)
        return parts.odf if name in ("content.xml", "styles.xml", "settings.xml") else None
    prefix = {FileKind.DOCX: "word/", FileKind.XLSX: "xl/", FileKind.PPTX: "ppt/"}[kind]
    if not name.startswith(prefix):
        return None
    return {FileKind.DOCX: parts.word, FileKind.XLSX: parts.excel}.get(kind, parts.powerpoint)


def _picture(name: str, data: bytes, names: parts.Pseudonyms) -> parts.Edit:
    try:
        if data.startswith(PNG_SIGNATURE):
            return strip_png(data)
        return strip_jpeg(data)
    except ValueError:
        return data, set()  # not a picture we understand: left as it is


def _property_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Where the package keeps its property parts, from ``_rels/.rels`` (standard names if
    it does not say)."""
    roles = {path: role for role, path in _PROPERTY_TYPES.items()}
    try:
        member = archive.getinfo("_rels/.rels")
    except KeyError:
        return roles
    for tag in re.findall(rb"<Relationship\b[^>]*>", _read(archive, member)):
        role = _ROLE.search(tag)
        target = re.search(rb'Target="/?([^"]+)"', tag)
        if role and target:
            roles[target.group(1).decode("utf-8", "replace")] = role.group(1).decode()
    return roles


def _read(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    if member.file_size > MAX_PART:
        raise Uncleanable(labels.DOCUMENT_TOO_LARGE)
    with archive.open(member) as stream:
        return stream.read()


def _copy(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, out: zipfile.ZipFile | None, kind: FileKind
) -> None:
    if member.is_dir():
        if out is not None:
            out.writestr(_info(member, kind), b"")
        return
    with archive.open(member) as stream:
        if out is None:
            while stream.read(CHUNK):  # reading to the end checks the CRC
                pass
            return
        target_info = _info(member, kind)
        target_info.file_size = member.file_size
        with out.open(target_info, "w") as target:
            shutil.copyfileobj(stream, target, CHUNK)


def _info(member: zipfile.ZipInfo, kind: FileKind) -> zipfile.ZipInfo:
    """A fresh entry: same name, no timestamp, extra field or comment of the original."""
    info = zipfile.ZipInfo(member.filename, date_time=_EPOCH)
    # Stored stays stored (pictures and video need no second compression; ODF requires its
    # "mimetype" member stored); everything else is deflated.
    stored = member.compress_type == zipfile.ZIP_STORED or (
        kind in _ODF and member.filename == "mimetype"
    )
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = (0o40755 << 16) | 0x10 if member.is_dir() else 0o644 << 16
    return info
