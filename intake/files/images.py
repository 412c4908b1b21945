"""Images (JPEG, PNG, WebP, TIFF, GIF): decoded by Pillow and written again from the pixels.

Re-encoding from the pixels is the one way to be sure nothing rides along: EXIF (location, camera
make, model and serial numbers, dates, the uncropped thumbnail), XMP, IPTC/Photoshop blocks, JPEG
comments and application segments, extra pictures (MPO previews, depth maps), PNG text chunks
(tEXt, zTXt, iTXt) and tIME, GIF comments, TIFF tags (Artist, Software, HostComputer ...) and
trailing data after the image all stay behind. What is kept, because a viewer needs it to show
the same picture: transparency, resolution (dpi), animation timing, and the colour profile when
it is a standard one (sRGB, Display P3, Adobe RGB ...).

Choices:

- The EXIF orientation is applied to the pixels first, so the picture is not shown rotated.
- JPEG is written with the original quantisation tables and subsampling (Pillow's
  ``quality="keep"``), so the quality stays what it was; WebP stays lossless if it was.
- A colour profile that is not a standard one usually describes the sender's own screen
  (macOS puts the display's profile into every screenshot, with its name and calibration
  date); the pixels are converted to sRGB instead and that profile is dropped.
- Animated GIF, WebP and PNG keep all their frames; multi-page TIFF keeps all its pages;
  a JPEG keeps only its main picture.
- Decompression bombs: more than ``Image.MAX_IMAGE_PIXELS`` pixels (all frames together) or
  more than ``MAX_FRAMES`` frames is not cleaned. Camera raw files that look like TIFF (DNG,
  NEF ...) are not cleaned either: Pillow would only see their small preview.

Memory: Pillow holds the decoded pixels of every kept frame. The encoded result is held in
memory too until it is written: it is no larger than those pixels, and it means a failing
encoder never leaves half a file. Pillow reads a compressed TIFF (LZW, Deflate ...) whole into
memory when the source has no ``fileno()``, as ours has not. Nothing is written to disk.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from PIL import ExifTags, Image, ImageOps, JpegImagePlugin

from intake.files import labels
from intake.files._base import Prepared, Uncleanable, write_buffer
from intake.files.labels import Info
from intake.files.sniff import FileKind

_FORMATS = {
    FileKind.JPEG: "JPEG",
    FileKind.PNG: "PNG",
    FileKind.WEBP: "WEBP",
    FileKind.TIFF: "TIFF",
    FileKind.GIF: "GIF",
}
_FALLBACK_MAX_PIXELS = 89_478_485  # Pillow's default, should MAX_IMAGE_PIXELS be disabled
# Frames come out of Pillow fully composited, so the original disposal and blending modes no
# longer apply: each frame is written to replace the whole picture.
_KEEP_INFO = ("transparency", "duration", "loop", "background")
MAX_FRAMES = 2000
_RAW_TIFF = (0xC612, 0x014A)  # DNGVersion, SubIFDs (raw camera formats built on TIFF)
_STANDARD_PROFILES = (
    "sRGB", "Display P3", "Adobe RGB (1998)", "ProPhoto RGB", "Generic RGB", "Generic Gray",
    "Generic CMYK", "Gray Gamma", "Dot Gain", "Coated FOGRA", "Uncoated FOGRA", "ISO Coated",
    "PSO ", "U.S. Web", "U.S. Sheetfed", "Japan Color", "Rec. ITU-R BT.", "Rec. 709",
    "Rec. 2020", "DCI-P3", "P3 D65", "c2",
)  # fmt: skip
_PNG_TEXT: dict[str, Info] = {
    "author": Info.AUTHOR,
    "artist": Info.AUTHOR,
    "copyright": Info.AUTHOR,
    "software": Info.SOFTWARE,
    "creation time": Info.EDIT_DATES,
    "title": Info.DESCRIPTION,
    "description": Info.DESCRIPTION,
    "comment": Info.DESCRIPTION,
    "xml:com.adobe.xmp": Info.XMP,
}


def prepare(src: BinaryIO, kind: FileKind) -> Prepared:
    """Decode ``src`` (an image of ``kind``) and encode a clean copy in memory.

    Raises :class:`Uncleanable` for images too large or of an unsupported variant, and
    whatever Pillow raises for damaged ones.
    """
    found: set[Info] = set()
    if kind is FileKind.PNG and _png_has_time(src):
        found.add(Info.EDIT_DATES)
    lossless = kind is FileKind.WEBP and _webp_lossless(src)
    src.seek(0)
    data = io.BytesIO()
    try:
        with Image.open(src, formats=[_FORMATS[kind]]) as image:
            frames = _decode(image, kind, found)
            _encode(frames, kind, image, data, lossless=lossless)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise Uncleanable(labels.IMAGE_TOO_LARGE) from error
    return Prepared(found, lambda out: write_buffer(data.getbuffer(), out), data.close)


def _decode(image: Image.Image, kind: FileKind, found: set[Info]) -> list[Image.Image]:
    count = getattr(image, "n_frames", 1)
    if kind is FileKind.JPEG and count > 1:
        found.add(Info.EXTRA_PICTURES)  # MPO: previews and depth maps, each with its own EXIF
        count = 1
    if kind is FileKind.TIFF and any(tag in getattr(image, "tag_v2", {}) for tag in _RAW_TIFF):
        raise Uncleanable(labels.UNSUPPORTED)
    width, height = image.size
    too_many = width * height * count > (Image.MAX_IMAGE_PIXELS or _FALLBACK_MAX_PIXELS)
    if too_many or count > MAX_FRAMES:
        raise Uncleanable(labels.IMAGE_TOO_LARGE)
    frames = []
    for index in range(count):
        image.seek(index)
        found |= _metadata(image, kind)
        frame = ImageOps.exif_transpose(image)  # loads the frame; a copy even when upright
        kept: dict[str | tuple[int, int], Any] = {
            key: image.info[key] for key in _KEEP_INFO if key in image.info
        }
        frame.info = kept  # nothing else may reach the encoder through .info
        frames.append(_colour(frame, image.info.get("icc_profile"), found))
    return frames


def _metadata(image: Image.Image, kind: FileKind) -> set[Info]:
    found: set[Info] = set()
    try:
        exif = image.getexif()
        found |= labels.exif_info(exif, tiff=kind is FileKind.TIFF)
        if exif.get_ifd(ExifTags.IFD.IFD1):
            found.add(Info.EXTRA_PICTURES)  # the EXIF thumbnail: may show the uncropped photo
    except Exception:  # a damaged EXIF block is still an EXIF block, and it goes
        found.add(Info.OTHER_TECH)
    info = image.info
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        found.add(Info.XMP)
    if info.get("photoshop") or info.get("iptc"):
        found.add(Info.IPTC)
    if info.get("comment"):
        found.add(Info.TEXT_NOTES)
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        found |= _jpeg_segments(image)
    for key in getattr(image, "text", {}):  # PNG text chunks
        found.add(_PNG_TEXT.get(key.lower(), Info.TEXT_NOTES))
    return found


def _jpeg_segments(image: JpegImagePlugin.JpegImageFile) -> set[Info]:
    found: set[Info] = set()
    for marker, payload in image.applist:
        if marker == "APP1" and payload.startswith(b"http://ns.adobe.com/x"):
            found.add(Info.XMP)
        elif marker == "APP13":
            found.add(Info.IPTC)
        elif marker == "APP2" and payload.startswith(b"MPF"):
            found.add(Info.EXTRA_PICTURES)
        elif marker == "APP0" and payload.startswith(b"JFXX"):
            found.add(Info.EXTRA_PICTURES)  # JFIF extension thumbnail
        elif marker == "COM":
            found.add(Info.TEXT_NOTES)
        elif marker not in ("APP0", "APP1", "APP2", "APP14"):
            found.add(Info.OTHER_TECH)  # maker-specific segments (APP3 ... APP15)
        elif marker == "APP2" and not payload.startswith(b"ICC_PROFILE"):
            found.add(Info.OTHER_TECH)  # FlashPix and the like
    return found


def _png_has_time(fp: BinaryIO) -> bool:
    """Pillow ignores tIME (last modification time): walk the chunk headers to find it."""
    fp.seek(8)
    for _ in range(100_000):
        header = fp.read(8)
        if len(header) < 8:
            return False
        length, chunk = int.from_bytes(header[:4], "big"), header[4:]
        if chunk == b"tIME":
            return True
        if chunk == b"IEND":
            return False
        fp.seek(length + 4, io.SEEK_CUR)
    return False


def _colour(frame: Image.Image, icc: bytes | None, found: set[Info]) -> Image.Image:
    """Keep a standard colour profile; convert anything else to sRGB and drop it."""
    if not icc:
        return frame
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = (ImageCms.getProfileDescription(profile) or "").strip()
    except Exception:  # unreadable profile or no littlecms: drop it, colours may shift a bit
        found.add(Info.SCREEN_PROFILE)
        return frame
    if description.startswith(_STANDARD_PROFILES):
        frame.info["icc_profile"] = icc
        return frame
    found.add(Info.SCREEN_PROFILE)
    mode = "RGBA" if "A" in frame.getbands() else "RGB"
    try:
        source = frame if frame.mode in ("RGB", "RGBA", "CMYK", "L") else frame.convert(mode)
        converted = ImageCms.profileToProfile(
            source, profile, ImageCms.createProfile("sRGB"), outputMode=mode
        )
    except Exception:
        return frame  # dropped without conversion: colours may shift a bit
    if converted is None:  # pragma: no cover - only with inPlace=True
        return frame
    converted.info = dict(frame.info)
    return converted


def _encode(
    frames: list[Image.Image],
    kind: FileKind,
    original: Image.Image,
    out: io.BytesIO,
    *,
    lossless: bool,
) -> None:
    first, rest = frames[0], frames[1:]
    options: dict[str, Any] = {"format": _FORMATS[kind]}
    if "dpi" in original.info:
        options["dpi"] = original.info["dpi"]
    if "icc_profile" in first.info:
        options["icc_profile"] = first.info["icc_profile"]
    if rest:
        options.update(save_all=True, append_images=rest)
        options["duration"] = [frame.info.get("duration", 0) for frame in frames]
        if "loop" in first.info:
            options["loop"] = first.info["loop"]
        if kind is FileKind.GIF:
            options["disposal"] = 2  # restore to background: the next full frame replaces it
    if kind is FileKind.JPEG:
        tables = getattr(original, "quantization", None)
        options.update(
            qtables=tables or None,
            quality=-1 if tables else 95,
            subsampling=JpegImagePlugin.get_sampling(original),
            progressive=bool(original.info.get("progressive")),
        )
    elif kind is FileKind.WEBP:
        options.update(lossless=lossless, quality=90)
    elif kind is FileKind.TIFF:
        compression = original.info.get("compression")
        options["compression"] = None if compression in (None, "raw") else compression
    try:
        first.save(out, **options)
    except (OSError, ValueError):
        if kind is not FileKind.TIFF:
            raise
        out.seek(0)
        out.truncate()  # an exotic compression Pillow cannot write: use Deflate
        first.save(out, **{**options, "compression": "tiff_adobe_deflate"})


def _webp_lossless(fp: BinaryIO) -> bool:
    """Whether the (first) picture is VP8L, WebP's lossless coding: keep it lossless."""
    fp.seek(0)
    header = fp.read(1 << 16)
    lossless, lossy = header.find(b"VP8L"), header.find(b"VP8 ")
    return lossless != -1 and (lossy == -1 or lossless < lossy)
