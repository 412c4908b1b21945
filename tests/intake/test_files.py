"""Uploaded files: type from content, identifying metadata removed, hostile files contained.

Files are built in the tests (tests/intake/files/builders.py) with sentinel strings in every
identifying field. The source is a real ``EncryptedSpool`` (no ``fileno()``) and the
destination a write-only stream that refuses ``seek``, ``tell`` and ``read``, as in production.
"""

from __future__ import annotations

import io
import os
import random
import re
import sys
import tracemalloc
import warnings
import wave
import zipfile
from collections.abc import Callable

import pikepdf
import pytest
from django.utils import translation
from PIL import ExifTags, Image, ImageCms
from PIL.JpegImagePlugin import JpegImageFile

from crypto.spool import EncryptedSpool
from intake.files import (
    CleanReport,
    FileKind,
    IncompleteOutputError,
    Info,
    Sniffed,
    clean,
    copy_through,
    labels,
    office,
    segments,
    sniff,
)
from tests.intake.files import builders as b
from tests.plugins.sensitive import SensitiveRegistry


class Sequential(io.RawIOBase):
    """The encrypting writer's interface: write only, in order."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        self.data = bytearray()
        self.fail_after = fail_after

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.fail_after is not None and len(self.data) + len(chunk) > self.fail_after:
            raise OSError("storage full")
        self.data += chunk
        return len(chunk)

    def seek(self, offset: int, whence: int = 0) -> int:
        raise AssertionError("dst must not be sought")

    def tell(self) -> int:
        raise AssertionError("dst must not be asked for its position")

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("dst must not be read")


class Discard(io.RawIOBase):
    """Counts and forgets (memory tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.count += len(chunk)
        return len(chunk)


def noise(size: int) -> bytes:
    return random.Random(size).randbytes(size)  # the same garbage every run


def spool(data: bytes) -> EncryptedSpool:
    src = EncryptedSpool()
    src.write(data)
    src.seek(0)
    return src


def run(data: bytes) -> tuple[Sniffed, CleanReport, bytes]:
    src = spool(data)
    sniffed = sniff(src)
    out = Sequential()
    report = clean(src, out, kind=sniffed.kind)
    assert report.written == bool(out.data) == report.cleaned
    assert (report.problem is None) == report.cleaned
    return sniffed, report, bytes(out.data)


def leftovers(data: bytes) -> list[str]:
    return [sentinel for sentinel in b.SENTINELS if sentinel.encode() in data]


def zip_text(data: bytes) -> bytes:
    """All members decompressed, to search them."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return b"\n".join(archive.read(name) for name in archive.namelist())


def pdf_text(data: bytes) -> bytes:
    """The PDF with its streams decompressed (JPEG data stays as it is, EXIF visible)."""
    with pikepdf.open(io.BytesIO(data)) as document:
        out = io.BytesIO()
        document.save(
            out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.generalized
        )
    return out.getvalue()


def has(report: CleanReport, *infos: Info) -> bool:
    return all(info in report.found and labels.LABELS[info] in report.removed for info in infos)


# --- sniffing ------------------------------------------------------------------------------------


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\x00\x00" * 80)
    return out.getvalue()


SAMPLES: dict[str, tuple[Callable[[], bytes], FileKind, str]] = {
    "jpeg": (b.jpeg, FileKind.JPEG, "jpg"),
    "png": (b.png, FileKind.PNG, "png"),
    "webp": (b.webp, FileKind.WEBP, "webp"),
    "tiff": (b.tiff, FileKind.TIFF, "tiff"),
    "gif": (b.gif, FileKind.GIF, "gif"),
    "pdf": (b.pdf, FileKind.PDF, "pdf"),
    "docx": (b.docx, FileKind.DOCX, "docx"),
    "xlsx": (b.xlsx, FileKind.XLSX, "xlsx"),
    "pptx": (b.pptx, FileKind.PPTX, "pptx"),
    "pptm": (lambda: b.pptx(macros=True), FileKind.PPTX, "pptm"),
    "odt": (b.odt, FileKind.ODT, "odt"),
    "zip": (lambda: b.zip_of({"a.txt": "x", "b/c.txt": "y"}), FileKind.ZIP, "zip"),
    "wav": (_wav, FileKind.WAV, "wav"),
    "mp3": (lambda: b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200), FileKind.MP3, "mp3"),
    "ogg": (lambda: b"OggS\x00\x02" + bytes(200), FileKind.OGG, "ogg"),
    "m4a": (lambda: b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00M4A isom" + bytes(64),
            FileKind.M4A, "m4a"),
    "mp4": (lambda: b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64),
            FileKind.MP4, "mp4"),
    "heic": (lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64),
             FileKind.HEIC, "heic"),
    "text": (lambda: "Grüße, 日本\n".encode() * 2000, FileKind.TXT, "txt"),
    "nul": (lambda: b"text\x00more", FileKind.OTHER, "bin"),
    "latin1": (lambda: "Grüße".encode("latin-1"), FileKind.OTHER, "bin"),
    "empty": (lambda: b"", FileKind.OTHER, "bin"),
    "exe": (lambda: b"MZ\x90\x00" + bytes(100), FileKind.OTHER, "bin"),
}  # fmt: skip


@pytest.mark.parametrize("name", SAMPLES)
def test_sniff_tells_the_type_from_content(name: str) -> None:
    build, kind, extension = SAMPLES[name]
    src = spool(build())
    src.seek(3)
    sniffed = sniff(src)
    assert (sniffed.kind, sniffed.extension) == (kind, extension)
    assert "/" in sniffed.mime
    assert src.tell() == 3  # position restored


def test_sniff_ignores_what_the_file_claims_to_be() -> None:
    # A PDF named photo.jpg and uploaded as image/jpeg: there is no name to go by, only bytes.
    assert sniff(spool(b.pdf())).kind is FileKind.PDF
    assert sniff(spool(b"junk before\n" + b.pdf())).kind is FileKind.PDF  # as readers accept
    # A zip that only names a Word part in passing is no Word file; a broken zip is a zip.
    assert sniff(spool(b.zip_of({"word/readme.txt": "x"}))).kind is FileKind.ZIP
    assert sniff(spool(b.docx()[:200])).kind is FileKind.ZIP
    # UTF-8 split across the header boundary is still text; invalid later on is not.
    text = b"a" * 8191 + "ü".encode() + b"b" * 100
    assert sniff(spool(text)).kind is FileKind.TXT
    assert sniff(spool(text + b"\xff")).kind is FileKind.OTHER


# --- images ------------------------------------------------------------------------------------


def test_jpeg_loses_gps_camera_xmp_and_comment_and_is_turned_upright() -> None:
    original = b.jpeg(orientation=6)  # stored landscape, shown rotated 90° clockwise
    _, report, out = run(original)
    assert report.cleaned and leftovers(out) == []
    assert has(report, Info.LOCATION, Info.CAMERA, Info.AUTHOR, Info.XMP, Info.TEXT_NOTES)
    with Image.open(io.BytesIO(out)) as image, Image.open(io.BytesIO(original)) as before:
        assert isinstance(image, JpegImageFile) and isinstance(before, JpegImageFile)
        assert image.size == (20, 40)  # the orientation went into the pixels
        red, blue = image.convert("RGB").getpixel((10, 5)), image.convert("RGB").getpixel((10, 35))
        assert isinstance(red, tuple) and red[0] > 200 and red[2] < 60  # left edge is now on top
        assert isinstance(blue, tuple) and blue[2] > 200 and blue[0] < 60
        exif = image.getexif()
        assert ExifTags.Base.Orientation not in exif and not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert "xmp" not in image.info and "comment" not in image.info
        assert image.quantization == before.quantization  # quality kept, not re-chosen


def test_png_loses_text_chunks_and_time_pixels_unchanged() -> None:
    original = b.png()
    _, report, out = run(original)
    assert report.cleaned and leftovers(out) == []
    assert has(report, Info.AUTHOR, Info.SOFTWARE, Info.EDIT_DATES, Info.DESCRIPTION)
    assert b"tIME" not in out and b"tEXt" not in out and b"iTXt" not in out
    with Image.open(io.BytesIO(out)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.mode == "RGBA" and image.tobytes() == before.tobytes()


def test_webp_loses_exif_and_stays_lossless() -> None:
    original = b.webp()
    _, report, out = run(original)
    assert report.cleaned and leftovers(out) == [] and b"EXIF" not in out
    assert has(report, Info.LOCATION, Info.CAMERA)
    with Image.open(io.BytesIO(out)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.tobytes() == before.tobytes()


def test_tiff_loses_artist_software_and_host() -> None:
    original = b.tiff()
    _, report, out = run(original)
    assert report.cleaned and leftovers(out) == []
    assert has(report, Info.AUTHOR, Info.SOFTWARE, Info.COMPUTER)
    with Image.open(io.BytesIO(out)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.tobytes() == before.tobytes()
        assert image.info.get("compression") == "tiff_lzw"


def test_animated_gif_keeps_its_frames_and_loses_its_comment() -> None:
    original = b.gif(frames=3)
    _, report, out = run(original)
    assert report.cleaned and leftovers(out) == [] and has(report, Info.TEXT_NOTES)
    with Image.open(io.BytesIO(out)) as image, Image.open(io.BytesIO(original)) as before:
        assert getattr(image, "n_frames", 1) == 3
        for index, duration in enumerate((100, 200, 300)):
            image.seek(index)
            before.seek(index)
            assert image.info.get("duration") == duration
            assert image.convert("RGB").tobytes() == before.convert("RGB").tobytes()


def test_screen_colour_profile_is_converted_away_standard_profile_is_kept() -> None:
    _, report, out = run(b.png_with_profile(b.screen_profile()))
    assert report.cleaned and has(report, Info.SCREEN_PROFILE)
    with Image.open(io.BytesIO(out)) as image:
        assert "icc_profile" not in image.info
        assert image.getpixel((0, 0)) == (255, 0, 0)  # it was sRGB under another name
    standard = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    _, report, out = run(b.png_with_profile(standard))
    assert report.cleaned and report.removed == ()
    with Image.open(io.BytesIO(out)) as image:
        assert image.info.get("icc_profile") == standard


@pytest.mark.parametrize(("format_", "options"), [("PNG", {}), ("WEBP", {"lossless": True})])
def test_animated_png_and_webp_keep_every_frame(format_: str, options: dict[str, object]) -> None:
    frames = [b.two_colours((16, 8), "RGBA") for _ in range(3)]
    frames[1].paste((0, 0, 0, 0), (0, 0, 4, 4))  # a transparent corner on the middle frame
    frames[2].paste((0, 255, 0, 255), (8, 0, 16, 8))
    data = io.BytesIO()
    exif = b.photo_exif(1)
    frames[0].save(
        data, format_, save_all=True, append_images=frames[1:], duration=[50, 60, 70], loop=0,
        exif=exif, **options,
    )  # fmt: skip
    _, report, out = run(data.getvalue())
    assert report.cleaned and leftovers(out) == [] and has(report, Info.LOCATION)
    with Image.open(io.BytesIO(out)) as image:
        assert getattr(image, "n_frames", 1) == 3
        for index, frame in enumerate(frames):
            image.seek(index)
            assert image.convert("RGBA").tobytes() == frame.tobytes()


def test_pictures_inside_documents_lose_metadata_losslessly() -> None:
    progressive = io.BytesIO()
    b.two_colours((64, 32)).save(
        progressive, "JPEG", exif=b.photo_exif(3), progressive=True, restart_marker_blocks=2
    )
    photo = progressive.getvalue() + b"\xff\xd8" + b.MAKE.encode()  # an MPO-like trailer
    stripped, found = segments.strip_jpeg(photo)
    assert leftovers(stripped) == [] and {Info.LOCATION, Info.CAMERA} <= found
    assert Info.EXTRA_PICTURES in found
    with Image.open(io.BytesIO(stripped)) as after, Image.open(io.BytesIO(photo)) as before:
        assert after.tobytes() == before.tobytes()  # the same data, not re-encoded
        assert dict(after.getexif()) == {ExifTags.Base.Orientation: 3}
    picture = b.png()
    stripped, found = segments.strip_png(picture)
    assert leftovers(stripped) == [] and {Info.AUTHOR, Info.EDIT_DATES} <= found
    with Image.open(io.BytesIO(stripped)) as after, Image.open(io.BytesIO(picture)) as before:
        assert after.tobytes() == before.tobytes()
    _, report, out = run(b.docx(extra={"word/media/image2.png": picture}))
    assert report.cleaned and leftovers(zip_text(out)) == []
    with pytest.raises(ValueError, match="past the end"):
        segments.strip_jpeg(photo[:200])


def test_image_without_metadata_is_cleaned_with_nothing_to_report() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(out, "PNG")
    _, report, data = run(out.getvalue())
    assert report.cleaned and report.removed == () and data.startswith(b"\x89PNG")


def test_too_many_pixels_is_not_cleaned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    for size in ((100, 100), (40, 40)):  # Pillow refuses the first; our own check the second
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            _, report, out = run(b.jpeg(size=size))
        assert not report.cleaned and out == b""
        assert report.problem == labels.IMAGE_TOO_LARGE


# --- PDF -----------------------------------------------------------------------------------------


def test_pdf_loses_info_xmp_old_versions_comment_names_and_photo_exif() -> None:
    original = b.pdf(pages=2, photo=b.jpeg())
    assert set(leftovers(original)) >= {b.AUTHOR, b.OLD_AUTHOR, b.XMP_NAME, b.MAKE, b.COMMENTER}
    _, report, out = run(original)
    assert report.cleaned and leftovers(pdf_text(out)) == []
    assert has(report, Info.AUTHOR, Info.SOFTWARE, Info.XMP, Info.OLD_VERSIONS)
    assert has(report, Info.COMMENT_AUTHORS, Info.EDIT_DATES, Info.LOCATION, Info.CAMERA)
    with pikepdf.open(io.BytesIO(out)) as document:
        assert len(document.pages) == 2
        assert "/Info" not in document.trailer and "/Metadata" not in document.Root
        note, field = document.pages[0].Annots
        assert str(note.T) == "Author 1" and "/M" not in note
        assert str(note.Contents) == "visible note"
        assert str(field.T) == "field-name"  # a form field's name is not a person's
        picture = document.pages[0].Resources.XObject.Im0
        with Image.open(io.BytesIO(picture.read_raw_bytes())) as image:
            assert image.size == (40, 20)
            assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
            # PDF viewers ignore EXIF orientation; the picture keeps the one it had, alone.
            assert dict(image.getexif()) == {ExifTags.Base.Orientation: 6}


def test_pdf_with_only_an_owner_password_is_cleaned_one_with_a_user_password_is_not() -> None:
    _, report, out = run(b.pdf(owner="restrictions"))
    assert report.cleaned and has(report, Info.AUTHOR)
    with pikepdf.open(io.BytesIO(out)) as document:  # opens without any password
        assert not document.is_encrypted and "/Info" not in document.trailer
    assert leftovers(pdf_text(out)) == []
    _, report, _ = run(b.pdf(password="secret"))
    assert not report.cleaned and report.problem == labels.PDF_PASSWORD


def test_pdf_attachments_are_reported_as_remaining() -> None:
    with pikepdf.open(io.BytesIO(b.pdf(pages=1))) as document:
        document.attachments["photo.jpg"] = pikepdf.AttachedFileSpec(document, b.jpeg())
        data = io.BytesIO()
        document.save(data)
    _, report, _ = run(data.getvalue())
    assert report.cleaned and report.remaining == (labels.LABELS[Info.EMBEDDED],)
    assert Info.EMBEDDED not in report.found
    _, report, _ = run(b.pdf(pages=1))
    assert report.remaining == ()


def test_pdf_is_written_sequentially_and_in_small_memory() -> None:
    document = pikepdf.new()
    for index in range(10):
        document.add_blank_page()
        picture = pikepdf.Stream(document, os.urandom(2_000_000))
        picture.Type, picture.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        picture.Width, picture.Height, picture.BitsPerComponent = 1000, 666, 8
        picture.ColorSpace = pikepdf.Name.DeviceRGB
        document.pages[index].Resources = pikepdf.Dictionary(
            XObject=pikepdf.Dictionary(Im0=picture)
        )
    data = io.BytesIO()
    document.save(data, compress_streams=False)
    src = spool(data.getvalue())
    del data, document
    out = Discard()
    tracemalloc.start()
    try:
        report = clean(src, out, kind=FileKind.PDF)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.cleaned and out.count > 20_000_000
    assert peak < 6_000_000  # the 20 MB file never sits in memory


# --- Office and OpenDocument ------------------------------------------------------------------


def test_docx_loses_properties_names_sessions_paths_and_photo_exif() -> None:
    _, report, out = run(b.docx())
    text = zip_text(out)
    assert report.cleaned and leftovers(text) == []
    assert has(report, Info.AUTHOR, Info.LAST_EDITOR, Info.COMPANY, Info.MANAGER, Info.CUSTOM)
    assert has(report, Info.COMMENT_AUTHORS, Info.CHANGE_AUTHORS, Info.EDIT_SESSIONS)
    assert has(report, Info.FOLDER_PATHS, Info.DOC_ID, Info.EDIT_DATES, Info.LOCATION)
    assert report.remaining == ()
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        names = archive.namelist()
        assert names[0] == "[Content_Types].xml" and "docProps/custom.xml" not in names
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
        core = archive.read("docProps/core.xml")
        assert b"creator" not in core and b"coreProperties" in core
        assert b"custom" not in archive.read("[Content_Types].xml")
        assert b"custom" not in archive.read("_rels/.rels")
        document = archive.read("word/document.xml")
        assert b'mc:Ignorable="w14 wp14"' in document and b"Visible text" in document
        assert b"rsid" not in document and b"w:date" not in document
        comments = archive.read("word/comments.xml")
        # The changer also commented: one person, one number, everywhere.
        assert re.findall(rb'w:author="([^"]*)"', document) == [b"Author 1"]
        assert re.findall(rb'w:author="([^"]*)"', comments) == [b"Author 2", b"Author 1"]
        assert b'w15:author="Author 2"' in archive.read("word/people.xml")
        assert b"presenceInfo" not in archive.read("word/people.xml")
        assert b"rsid" not in archive.read("word/styles.xml")
        settings = archive.read("word/settings.xml")
        assert b"rsids" not in settings and b"docId" not in settings
        assert b'Target="Normal.dotm"' in archive.read("word/_rels/settings.xml.rels")
        assert b"https://example.org/a/b" in archive.read("word/_rels/document.xml.rels")
        with Image.open(io.BytesIO(archive.read("word/media/image1.jpeg"))) as image:
            assert image.size == (40, 20)  # untouched pixels, orientation kept for Word


def test_xlsx_and_pptx_lose_properties_and_comment_authors() -> None:
    _, report, out = run(b.xlsx())
    text = zip_text(out)
    assert report.cleaned and leftovers(text) == []
    assert has(report, Info.AUTHOR, Info.COMPANY, Info.COMMENT_AUTHORS, Info.FOLDER_PATHS)
    # The workbook's reservation holder came first ("Author 1"); the commenter is number 2
    # in the comments and in the persons list alike.
    assert b'userName="Author 1"' in text and b"<author>Author 2</author>" in text
    assert b'displayName="Author 2" id="{1}" userId="Author 2" providerId="None"' in text
    assert b"Visible cell" in text
    assert b"absPath" not in text and b"<sheets>" in text

    _, report, out = run(b.pptx())
    text = zip_text(out)
    assert report.cleaned and leftovers(text) == []
    assert has(report, Info.AUTHOR, Info.COMMENT_AUTHORS)
    assert b'name="Author 1" initials="A"' in text and b'name="Author 2" initials="A"' in text


def test_odt_loses_meta_printer_and_annotation_authors() -> None:
    sniffed, report, out = run(b.odt())
    text = zip_text(out)
    assert report.cleaned and leftovers(text) == []
    assert has(report, Info.AUTHOR, Info.SOFTWARE, Info.PRINTER, Info.COMMENT_AUTHORS)
    assert b"<dc:creator>Author 1</dc:creator>" in text and b"Visible text" in text
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert b'office:version="1.3"' in archive.read("meta.xml")
    assert sniff(spool(out)) == sniffed


def test_large_office_file_is_streamed_in_small_memory() -> None:
    data = b.docx(extra={"word/media/video.mp4": os.urandom(20_000_000)})
    src = spool(data)
    del data
    out = Discard()
    tracemalloc.start()
    try:
        report = clean(src, out, kind=FileKind.DOCX)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.cleaned and out.count > 20_000_000
    assert peak < 6_000_000  # a few 1 MiB copy buffers, never the 20 MB member
    assert report.remaining == (labels.LABELS[Info.EMBEDDED],)  # the video is not cleaned


# --- hostile and unsupported files -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (FileKind.JPEG, b.jpeg()[:300]),  # truncated
        (FileKind.JPEG, b"\xff\xd8\xff" + noise(3000)),
        (FileKind.PNG, b.png()[:-40]),
        (FileKind.GIF, b"GIF89a\x10\x00\x10\x00" + noise(500)),
        (FileKind.PDF, b"%PDF-1.7\n" + noise(3000)),
        (FileKind.PDF, b.pdf()[:400]),
        (FileKind.DOCX, b"PK\x03\x04" + noise(3000)),
        (FileKind.ODT, b.odt()[:-30]),
    ],
)
def test_damaged_files_are_reported_and_nothing_is_written(
    kind: FileKind, data: bytes, sensitive: SensitiveRegistry
) -> None:
    sensitive.add(*b.SENTINELS)  # nothing from the file may reach the logs
    out = Sequential()
    report = clean(spool(data), out, kind=kind)
    assert not report.cleaned and not report.written and out.data == b""
    assert report.problem == labels.DAMAGED and report.removed == ()


def test_corrupt_member_is_found_before_writing() -> None:
    data = bytearray(b.docx(extra={"word/padding.bin": noise(4000)}))
    at = data.index(b"word/padding.bin") + len(b"word/padding.bin") + 100
    data[at : at + 50] = bytes(50)  # the CRC check fails at the end of this member
    _, report, out = run(bytes(data))
    assert not report.cleaned and out == b"" and report.problem == labels.DAMAGED


def test_zip_bombs_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(office, "MAX_MEMBERS", 50)
    many = b.docx(extra={f"word/part{i}.xml": "<x/>" for i in range(60)})
    _, report, out = run(many)
    assert not report.cleaned and out == b"" and report.problem == labels.DOCUMENT_TOO_LARGE
    monkeypatch.setattr(office, "MAX_TOTAL", 1_000_000)
    huge = b.docx(extra={"word/zeros.bin": bytes(2_000_000)})  # compresses to a few KB
    _, report, out = run(huge)
    assert not report.cleaned and out == b"" and report.problem == labels.DOCUMENT_TOO_LARGE


def test_destination_failing_midway_is_not_reported_as_clean() -> None:
    with pytest.raises(IncompleteOutputError):
        clean(spool(b.docx()), Sequential(fail_after=1000), kind=FileKind.DOCX)
    # Failing on the very first byte: nothing was written, so the caller may still copy.
    report = clean(spool(b.jpeg()), Sequential(fail_after=0), kind=FileKind.JPEG)
    assert not report.cleaned and report.problem == labels.DAMAGED


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("wav", labels.UNSUPPORTED),
        ("mp4", labels.UNSUPPORTED),
        ("heic", labels.HEIC),
        ("zip", labels.ARCHIVE),
        ("text", labels.PLAIN_TEXT),
        ("exe", labels.UNSUPPORTED),
    ],
)
def test_other_kinds_are_not_cleaned_and_copy_through_keeps_them(
    name: str, problem: object
) -> None:
    data = SAMPLES[name][0]()
    _, report, out = run(data)
    assert not report.cleaned and out == b"" and report.problem == problem
    src, copy = spool(data), Sequential()
    src.seek(5)
    assert copy_through(src, copy) == len(data) and bytes(copy.data) == data


class FileWrites:
    """Records file creation and opening for writing (Python audit events) while active."""

    installed: FileWrites | None = None

    def __init__(self) -> None:
        self.active = False
        self.seen: list[str] = []

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active:
            return
        if event in ("tempfile.mkstemp", "tempfile.mkdtemp"):
            self.seen.append(event)
        elif event == "open":
            mode, flags = args[1], args[2]
            writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT
            if (isinstance(mode, str) and set(mode) & set("wax+")) or (
                isinstance(flags, int) and flags & writing
            ):
                self.seen.append(f"open {args[0]!r}")

    @classmethod
    def watcher(cls) -> FileWrites:
        if cls.installed is None:  # audit hooks cannot be removed: install one, once
            cls.installed = cls()
            sys.addaudithook(cls.installed)
        return cls.installed


def test_no_plaintext_file_is_ever_created() -> None:
    samples = ("jpeg", "png", "webp", "tiff", "gif", "pdf", "docx", "xlsx", "pptx", "odt")
    sources = [(SAMPLES[name][1], spool(SAMPLES[name][0]())) for name in samples]
    watcher = FileWrites.watcher()
    watcher.active = True
    try:
        reports = [clean(src, Sequential(), kind=kind) for kind, src in sources]
    finally:
        watcher.active = False
    assert all(report.cleaned for report in reports)
    assert watcher.seen == []


def test_labels_are_translatable_plain_words() -> None:
    assert all(type(label).__name__ == "__proxy__" for label in labels.LABELS.values())
    assert set(labels.LABELS) == set(Info)
    with translation.override("en"):
        assert str(labels.LABELS[Info.LOCATION]) == "location (GPS)"
    with translation.override("de"):
        assert str(labels.LABELS[Info.LOCATION]) != "location (GPS)"


def test_damaged_images_are_refused_even_after_weasyprint_was_imported() -> None:
    import casework.export  # noqa: F401  (imports weasyprint, which flips a Pillow global)

    out = Sequential()
    report = clean(spool(b.png()[:-40]), out, kind=FileKind.PNG)
    assert not report.cleaned and out.data == b""
