"""Remove identifying metadata from an uploaded file before it is encrypted (DESIGN §5, CF-6).

Usage, with ``src`` the upload (readable, seekable; our encrypted spool has no ``fileno()``) and
``dst`` the encrypting writer (written sequentially, never sought or read)::

    sniffed = sniff(src)
    report = clean(src, dst, kind=sniffed.kind)
    if not report.written:
        copy_through(src, dst)  # store the original, and tell the reporter report.problem

Contract of :func:`clean`, whatever the input:

- ``report.cleaned`` (same as ``report.written``) is True: ``dst`` received the complete
  cleaned file, and ``report.removed`` lists what was found and removed.
- ``report.cleaned`` is False: ``dst`` received **nothing**, and ``report.problem`` says why,
  in words for the reporter. Parsers' exceptions on hostile or damaged input end up here.
- :class:`IncompleteOutputError` is raised: writing had begun when something failed (in
  practice only ``dst`` itself failing). ``dst`` holds a partial file and must be discarded.

Everything that can fail on the file's content happens before the first byte goes to ``dst``
(each cleaner parses, cleans and, where the writer could still fail, tries the write on a
counting null sink first), so a hostile file cannot leave half a file behind. No plaintext
temporary file is ever created; memory stays bounded as each cleaner module documents.

What each type loses is described in the cleaner modules: :mod:`intake.files.images` (JPEG,
PNG, WebP, TIFF, GIF), :mod:`intake.files.pdf`, :mod:`intake.files.office` (DOCX, XLSX, PPTX,
ODT, ODS, ODP). Every other kind is not cleaned: audio and video, HEIC photos, archives, plain
text (nothing hidden to remove) and unknown files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, cast

from intake.files import images, labels, office, pdf
from intake.files._base import (
    CHUNK,
    CountingWriter,
    Destination,
    Prepared,
    Source,
    Uncleanable,
)
from intake.files.labels import Info
from intake.files.sniff import FileKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "CleanReport",
    "Destination",
    "IncompleteOutputError",
    "Source",
    "clean",
    "copy_through",
]

logger = logging.getLogger(__name__)

_CLEANERS: dict[FileKind, Callable[[BinaryIO, FileKind], Prepared]] = {
    FileKind.JPEG: images.prepare,
    FileKind.PNG: images.prepare,
    FileKind.WEBP: images.prepare,
    FileKind.TIFF: images.prepare,
    FileKind.GIF: images.prepare,
    FileKind.PDF: pdf.prepare,
    FileKind.DOCX: office.prepare,
    FileKind.XLSX: office.prepare,
    FileKind.PPTX: office.prepare,
    FileKind.ODT: office.prepare,
    FileKind.ODS: office.prepare,
    FileKind.ODP: office.prepare,
}
_WHY_NOT: dict[FileKind, StrOrPromise] = {
    FileKind.HEIC: labels.HEIC,
    FileKind.ZIP: labels.ARCHIVE,
    FileKind.TXT: labels.PLAIN_TEXT,
}


@dataclass(frozen=True)
class CleanReport:
    """What happened to one file, to show the reporter.

    ``removed`` holds lazy, translatable labels ("location (GPS)") for what was found and
    removed, in a stable order; ``found`` is the same as :class:`~intake.files.labels.Info`
    values for code. ``problem`` is set exactly when ``cleaned`` is False. ``remaining`` lists,
    for a cleaned file, what it contains that could not be cleaned (files, videos and sounds
    embedded in a document): tell the reporter, as DESIGN §5 asks.
    """

    kind: FileKind
    cleaned: bool
    removed: tuple[StrOrPromise, ...] = ()
    problem: StrOrPromise | None = None
    found: tuple[Info, ...] = ()
    remaining: tuple[StrOrPromise, ...] = ()

    @property
    def written(self) -> bool:
        """True when ``dst`` received the complete cleaned file, False when it got nothing."""
        return self.cleaned


class IncompleteOutputError(Exception):
    """Writing to ``dst`` failed halfway: ``dst`` holds part of a file and must be discarded."""


def clean(src: Source, dst: Destination, *, kind: FileKind) -> CleanReport:
    """Write a copy of ``src`` without identifying metadata to ``dst``; see the module doc.

    ``src`` is read from its start (its position is not restored); ``kind`` comes from
    :func:`intake.files.sniff.sniff`, never from the file name. ``dst`` is only written to.

    Returns a :class:`CleanReport`: cleaned and written, or not cleaned and ``dst`` untouched.
    Raises :class:`IncompleteOutputError` only when writing had begun (see the module doc).
    """
    prepare = _CLEANERS.get(kind)
    if prepare is None:
        return CleanReport(kind, False, problem=_WHY_NOT.get(kind, labels.UNSUPPORTED))
    try:
        src.seek(0)
        # The libraries want a file; a Source is all of one they use (never fileno()).
        prepared = prepare(cast(BinaryIO, src), kind)
    except Uncleanable as error:
        return CleanReport(kind, False, problem=error.problem)
    except Exception as error:  # hostile input must never take the upload down
        # The type name only: parsers' messages may quote the file's content.
        logger.info("Could not clean a %s file: %s", kind, type(error).__name__)
        return CleanReport(kind, False, problem=labels.DAMAGED)
    sink = CountingWriter(dst)
    try:
        prepared.write(cast(BinaryIO, sink))
    except Exception as error:
        if sink.count:
            raise IncompleteOutputError("writing the cleaned file failed halfway") from error
        logger.info("Could not write a cleaned %s file: %s", kind, type(error).__name__)
        return CleanReport(kind, False, problem=labels.DAMAGED)
    finally:
        prepared.close()
    found = tuple(info for info in Info if info in prepared.found)
    remaining = labels.labels(prepared.remaining)
    return CleanReport(kind, True, labels.labels(found), found=found, remaining=remaining)


def copy_through(src: Source, dst: Destination) -> int:
    """Copy ``src`` from its start to ``dst`` unchanged, in chunks; return the byte count."""
    src.seek(0)
    total = 0
    while chunk := src.read(CHUNK):
        dst.write(chunk)
        total += len(chunk)
    return total
