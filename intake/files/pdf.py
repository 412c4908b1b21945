"""PDF: rewritten by qpdf (through pikepdf) without the metadata that can name the sender.

Removed:

- the document information dictionary: Author, Creator and Producer (the programs), Title,
  Subject, Keywords, creation and modification dates, and any custom entries (Company ...);
- the XMP metadata stream of the document and every ``/Metadata`` stream attached to pages,
  pictures or fonts (XMP carries the same names and dates, plus editing history and IDs);
- ``/PieceInfo`` (private data of the editing program, e.g. Illustrator's) and
  ``/LastModified`` of pages and forms;
- the file identifier ``/ID`` (qpdf writes a new one computed from the content only);
- earlier saved versions: an edited PDF often still contains every earlier version after the
  current one (incremental updates), sometimes including text that was later "redacted".
  qpdf writes only the objects the current version uses;
- names of comment authors (``/T`` of markup annotations: sticky notes, highlights ...) are
  replaced by "Author 1", "Author 2" ... (the same person keeps the same number), and the
  annotations' dates are removed;
- EXIF, XMP and other metadata inside embedded JPEG pictures (cut out losslessly, see
  :mod:`intake.files.segments`).

Not touched: page content, form fields, JavaScript, and files attached to the PDF (they are
not cleaned: the report lists them under ``remaining``). Encryption with only an owner
password (printing/copying restrictions) is removed on the way, as qpdf cannot write it again
without the password. A PDF that opens only with a password is not cleaned. A file qpdf had to
repair is cleaned as repaired.
A PDF/A file is no longer formally PDF/A once its XMP is gone.

Memory: qpdf reads ``src`` through its file object on demand and writes sequentially, so the
file is never held in memory as a whole (only the object table and one stream at a time).
Writing is first done to a counting null sink, so a stream qpdf cannot process fails before
the first byte reaches ``dst``.
"""

from __future__ import annotations

from typing import BinaryIO, cast

import pikepdf
from pikepdf import Dictionary, Name, Stream, String

from intake.files import labels
from intake.files._base import CountingWriter, Prepared, Uncleanable
from intake.files.labels import Info
from intake.files.segments import strip_jpeg
from intake.files.sniff import FileKind

MAX_EMBEDDED_JPEG = 64 << 20  # larger pictures are left as they are (memory)
_DOCINFO: dict[str, Info] = {
    "/Author": Info.AUTHOR,
    "/Creator": Info.SOFTWARE,
    "/Producer": Info.SOFTWARE,
    "/Title": Info.TITLE,
    "/Subject": Info.TITLE,
    "/Keywords": Info.TITLE,
    "/CreationDate": Info.EDIT_DATES,
    "/ModDate": Info.EDIT_DATES,
    "/Company": Info.COMPANY,
    "/Trapped": Info.OTHER_TECH,
}
_OBJECT_KEYS: dict[str, Info] = {
    "/Metadata": Info.XMP,
    "/PieceInfo": Info.APP_DATA,
    "/LastModified": Info.EDIT_DATES,
}
_NOT_MARKUP = {"/Widget", "/Link", "/Screen", "/PrinterMark", "/TrapNet", "/Watermark", "/3D"}


def prepare(src: BinaryIO, kind: FileKind) -> Prepared:
    """Open ``src`` with qpdf, remove the metadata, and check that it can be written.

    Raises :class:`Uncleanable` for password-protected PDFs, and pikepdf's errors for damaged
    ones. The returned :class:`Prepared` holds the open document until it is closed.
    """
    try:
        document = pikepdf.open(src)
    except pikepdf.PasswordError as error:
        raise Uncleanable(labels.PDF_PASSWORD) from error
    try:
        found = _clean(document)
        remaining = {Info.EMBEDDED} & found
        found -= remaining
        # Dry run: every stream is read and encoded before a byte goes to dst.
        _save(document, cast(BinaryIO, CountingWriter()))
    except BaseException:
        document.close()
        raise
    return Prepared(found, lambda out: _save(document, out), document.close, remaining)


def _save(document: pikepdf.Pdf, out: BinaryIO) -> None:
    # The /ID from a digest of the content, never from the clock or the original /ID.
    document.save(out, deterministic_id=True)


def _clean(document: pikepdf.Pdf) -> set[Info]:
    found: set[Info] = set()
    trailer = document.trailer
    if "/Prev" in trailer and not document.is_linearized:
        found.add(Info.OLD_VERSIONS)
    info = trailer.get("/Info")
    if isinstance(info, Dictionary):
        found |= {_DOCINFO.get(str(key), Info.OTHER_PROPERTIES) for key in info}
    if "/ID" in trailer:
        found.add(Info.DOC_ID)
    for key in ("/Info", "/ID"):
        if key in trailer:
            del trailer[key]
    names: dict[str, str] = {}
    for obj in document.objects:
        if not isinstance(obj, Dictionary | Stream):
            continue
        for key, what in _OBJECT_KEYS.items():
            if key in obj:
                del obj[key]
                found.add(what)
        if isinstance(obj, Stream) and obj.get("/Subtype") == Name.Image:
            found |= _picture(obj)
        elif isinstance(obj, Stream) and obj.get("/Type") == Name.EmbeddedFile:
            found.add(Info.EMBEDDED)  # moved to "remaining" by prepare()
    seen: set[tuple[int, int]] = set()
    for page in document.pages:  # annotations are often direct objects, not in .objects
        annotations = page.obj.get("/Annots")
        if not isinstance(annotations, pikepdf.Array):
            continue
        for annotation in annotations:
            if not isinstance(annotation, Dictionary) or annotation.objgen in seen:
                continue
            if annotation.is_indirect:
                seen.add(annotation.objgen)
            found |= _annotation(annotation, names)
    return found


def _annotation(obj: Dictionary, names: dict[str, str]) -> set[Info]:
    """Give a comment's author a number instead of a name, and drop its dates."""
    subtype = obj.get("/Subtype")
    if "/Rect" not in obj or not isinstance(subtype, Name) or str(subtype) in _NOT_MARKUP:
        return set()
    found: set[Info] = set()
    title = obj.get("/T")
    if isinstance(title, String):
        name = str(title)
        obj["/T"] = String(names.setdefault(name, f"Author {len(names) + 1}"))
        found.add(Info.COMMENT_AUTHORS)
    for key in ("/M", "/CreationDate"):
        if key in obj:
            del obj[key]
            found.add(Info.EDIT_DATES)
    return found


def _picture(obj: Stream) -> set[Info]:
    """Cut metadata segments out of a JPEG picture (``/DCTDecode``), leaving its data as is."""
    filters = obj.get("/Filter")
    if filters != Name.DCTDecode and not (
        isinstance(filters, pikepdf.Array) and list(filters) == [Name.DCTDecode]
    ):
        return set()
    try:
        length = int(obj.get("/Length", 0))
    except (TypeError, ValueError):
        return set()
    if length > MAX_EMBEDDED_JPEG:
        return set()
    raw = obj.read_raw_bytes()
    try:
        stripped, found = strip_jpeg(raw)
    except ValueError:
        return set()  # not what it claims to be: viewers will cope or not, as before
    if stripped != raw:
        parms = obj.get("/DecodeParms")
        if isinstance(parms, pikepdf.Array):
            parms = parms[0] if len(parms) == 1 else None
        obj.write(
            stripped,
            filter=Name.DCTDecode,
            decode_parms=parms if isinstance(parms, Dictionary) else None,
        )
    return found
