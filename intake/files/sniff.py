"""What a file really is, from its content: never from its name or the browser's claim.

The reporter's file name and the ``Content-Type`` the browser sends are chosen by the sender's
software and say nothing reliable; a PDF renamed ``photo.jpg`` must be cleaned as a PDF, and a
download must never be served with a type that makes the browser run it. :func:`sniff` reads the
first bytes (the ``filetype`` library knows the magic numbers), and for ZIP files the member list,
because Office and OpenDocument files are ZIP archives that differ only inside.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO, cast

import filetype

from intake.files._base import Source

HEADER_SIZE = 8192  # what filetype looks at
_CHUNK = 1 << 16
_MAX_SMALL_MEMBER = 1 << 20  # [Content_Types].xml, _rels/.rels and mimetype are small


class FileKind(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    TIFF = "tiff"
    GIF = "gif"
    HEIC = "heic"
    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    PPTX = "pptx"
    ODT = "odt"
    ODS = "ods"
    ODP = "odp"
    ZIP = "zip"
    MP3 = "mp3"
    OGG = "ogg"
    WAV = "wav"
    M4A = "m4a"
    MP4 = "mp4"
    MOV = "mov"
    WEBM = "webm"
    TXT = "txt"
    OTHER = "other"


@dataclass(frozen=True)
class Sniffed:
    """The type of a file: ``kind`` decides how it is cleaned, ``mime`` and ``extension`` how
    a download is named and served (``extension`` without the dot)."""

    kind: FileKind
    mime: str
    extension: str


_STANDARD: dict[FileKind, tuple[str, str]] = {
    FileKind.JPEG: ("image/jpeg", "jpg"),
    FileKind.PNG: ("image/png", "png"),
    FileKind.WEBP: ("image/webp", "webp"),
    FileKind.TIFF: ("image/tiff", "tiff"),
    FileKind.GIF: ("image/gif", "gif"),
    FileKind.HEIC: ("image/heic", "heic"),
    FileKind.PDF: ("application/pdf", "pdf"),
    FileKind.DOCX: (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    FileKind.XLSX: ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    FileKind.PPTX: (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptx",
    ),
    FileKind.ODT: ("application/vnd.oasis.opendocument.text", "odt"),
    FileKind.ODS: ("application/vnd.oasis.opendocument.spreadsheet", "ods"),
    FileKind.ODP: ("application/vnd.oasis.opendocument.presentation", "odp"),
    FileKind.ZIP: ("application/zip", "zip"),
    FileKind.MP3: ("audio/mpeg", "mp3"),
    FileKind.OGG: ("audio/ogg", "ogg"),
    FileKind.WAV: ("audio/wav", "wav"),
    FileKind.M4A: ("audio/mp4", "m4a"),
    FileKind.MP4: ("video/mp4", "mp4"),
    FileKind.MOV: ("video/quicktime", "mov"),
    FileKind.WEBM: ("video/webm", "webm"),
    FileKind.TXT: ("text/plain", "txt"),
    FileKind.OTHER: ("application/octet-stream", "bin"),
}

# filetype's extension -> our kind (everything it knows beyond these is OTHER).
_FROM_FILETYPE: dict[str, FileKind] = {
    "jpg": FileKind.JPEG,
    "png": FileKind.PNG,
    "apng": FileKind.PNG,
    "webp": FileKind.WEBP,
    "tif": FileKind.TIFF,
    "gif": FileKind.GIF,
    "heic": FileKind.HEIC,
    "pdf": FileKind.PDF,
    "mp3": FileKind.MP3,
    "ogg": FileKind.OGG,
    "wav": FileKind.WAV,
    "m4a": FileKind.M4A,
    "mp4": FileKind.MP4,
    "mov": FileKind.MOV,
    "webm": FileKind.WEBM,
}

# Content type of the main part of an Office package -> (kind, download mime, extension).
_OOXML_MAIN: dict[str, tuple[FileKind, str, str]] = {
    "application/vnd.ms-word.document.macroEnabled.main+xml": (
        FileKind.DOCX, "application/vnd.ms-word.document.macroEnabled.12", "docm"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": (
        FileKind.DOCX,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template", "dotx"),
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": (
        FileKind.XLSX, "application/vnd.ms-excel.sheet.macroEnabled.12", "xlsm"),
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": (
        FileKind.PPTX, "application/vnd.ms-powerpoint.presentation.macroEnabled.12", "pptm"),
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": (
        FileKind.PPTX,
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow", "ppsx"),
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": (
        FileKind.DOCX, "application/vnd.ms-word.template.macroEnabled.12", "dotm"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": (
        FileKind.XLSX,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template", "xltx"),
    "application/vnd.ms-excel.template.macroEnabled.main+xml": (
        FileKind.XLSX, "application/vnd.ms-excel.template.macroEnabled.12", "xltm"),
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": (
        FileKind.PPTX,
        "application/vnd.openxmlformats-officedocument.presentationml.template", "potx"),
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml": (
        FileKind.PPTX, "application/vnd.ms-powerpoint.slideshow.macroEnabled.12", "ppsm"),
}  # fmt: skip
_OOXML_FAMILY = (
    ("wordprocessingml", FileKind.DOCX),
    ("ms-word", FileKind.DOCX),
    ("spreadsheetml", FileKind.XLSX),
    ("ms-excel", FileKind.XLSX),
    ("presentationml", FileKind.PPTX),
    ("ms-powerpoint", FileKind.PPTX),
)
_MAIN_PARTS = {
    "word/document.xml": FileKind.DOCX,
    "xl/workbook.xml": FileKind.XLSX,
    "ppt/presentation.xml": FileKind.PPTX,
}
_ODF: dict[bytes, FileKind] = {
    b"application/vnd.oasis.opendocument.text": FileKind.ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": FileKind.ODS,
    b"application/vnd.oasis.opendocument.presentation": FileKind.ODP,
}
_OFFICE_DOCUMENT_REL = re.compile(
    rb"<Relationship\b[^>]*?Type=\"[^\"]*/officeDocument\"[^>]*>", re.IGNORECASE
)
_TARGET = re.compile(rb"\bTarget=\"([^\"]+)\"")


def standard(kind: FileKind) -> Sniffed:
    """The usual type and extension of ``kind``."""
    mime, extension = _STANDARD[kind]
    return Sniffed(kind, mime, extension)


def sniff(f: Source) -> Sniffed:
    """Tell the type of the whole stream ``f`` from its content.

    ``f`` must be readable and seekable; it is examined from its start whatever its position,
    and its position is restored afterwards. ZIP files are opened to tell Office (``docx``,
    ``xlsx``, ``pptx``, with their macro and template variants as ``extension``) and
    OpenDocument (``odt``, ``ods``, ``odp``) files from other archives. A file is ``txt`` when
    it is entirely valid UTF-8 without NUL characters (its whole content is read, in chunks);
    anything unknown or empty is ``other``. Never raises for odd content.
    """
    position = f.tell()
    try:
        f.seek(0)
        header = f.read(HEADER_SIZE)
        return _sniff(cast(BinaryIO, f), header)
    finally:
        f.seek(position)


def _sniff(f: BinaryIO, header: bytes) -> Sniffed:
    if not header:
        return standard(FileKind.OTHER)
    if header.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(f)
    # PDF readers accept up to 1 KiB of junk before the header; so must we, or such a file
    # would escape cleaning as "other".
    if b"%PDF-" in header[:1024]:
        return standard(FileKind.PDF)
    guess = filetype.guess(header)
    if guess is not None and guess.extension in _FROM_FILETYPE:
        return standard(_FROM_FILETYPE[guess.extension])
    if guess is None and _is_text(f, header):
        return standard(FileKind.TXT)
    return standard(FileKind.OTHER)


def _is_text(f: BinaryIO, header: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = header
    try:
        while chunk:
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
            chunk = f.read(_CHUNK)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _sniff_zip(f: BinaryIO) -> Sniffed:
    try:
        f.seek(0)
        archive = zipfile.ZipFile(f)
    except Exception:  # hostile or damaged central directory
        return standard(FileKind.ZIP)  # still a ZIP file for what it is worth
    with archive:
        names = set(archive.namelist())
        try:
            found = _classify_zip(archive, names)
        except Exception:  # a damaged member: the names alone must do
            found = _by_names(names)
    return found or standard(FileKind.ZIP)


def _classify_zip(archive: zipfile.ZipFile, names: set[str]) -> Sniffed | None:
    if "mimetype" in names:
        kind = _ODF.get(_read_small(archive, "mimetype").strip())
        if kind is not None:
            return standard(kind)
    if "[Content_Types].xml" in names:
        return _ooxml(archive, names)
    return None


def _by_names(names: set[str]) -> Sniffed | None:
    if "[Content_Types].xml" in names:
        for main, kind in _MAIN_PARTS.items():
            if main in names:
                return standard(kind)
    return None  # an OpenDocument file without a readable "mimetype" cannot be told apart


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as member:
        return member.read(_MAX_SMALL_MEMBER)


def _ooxml(archive: zipfile.ZipFile, names: set[str]) -> Sniffed | None:
    """Find the main part through ``_rels/.rels`` and classify its declared content type."""
    main = None
    if "_rels/.rels" in names:
        relation = _OFFICE_DOCUMENT_REL.search(_read_small(archive, "_rels/.rels"))
        target = _TARGET.search(relation.group(0)) if relation else None
        if target:
            main = target.group(1).decode("utf-8", "replace").lstrip("/")
    if main is None or main not in names:
        return _by_names(names)
    types = _read_small(archive, "[Content_Types].xml")
    override = re.search(
        rb"<Override\b[^>]*?PartName=\"/" + re.escape(main.encode()) + rb"\"[^>]*>", types
    )
    declared = re.search(rb"ContentType=\"([^\"]+)\"", override.group(0)) if override else None
    content_type = declared.group(1).decode("ascii", "replace") if declared else ""
    if content_type in _OOXML_MAIN:
        kind, mime, extension = _OOXML_MAIN[content_type]
        return Sniffed(kind, mime, extension)
    for family, kind in _OOXML_FAMILY:
        if family in content_type:
            return standard(kind)
    return _by_names(names)
