"""Lossless metadata removal for JPEG and PNG pictures embedded in documents.

Word, PowerPoint and PDF writers keep an inserted photo's original bytes, EXIF location and
camera serial number included. Inside a document the picture is not re-encoded (that would
change the document's look and size): the metadata segments are cut out and the image data is
copied byte for byte.

- JPEG: drops APP1 (EXIF, XMP), APP13 (IPTC/Photoshop), APP3-APP13 and APP15 (maker data),
  APP2 other than the colour profile (MPF, FlashPix), JFXX thumbnails, comments, and anything
  after the end of the image (MPO extra pictures, maker trailers). Keeps JFIF, the ICC profile
  and APP14 (Adobe: needed to decode the colours). When the EXIF orientation was not "upright",
  a minimal EXIF block with only the orientation is put back, so the picture still shows the
  right way up.
- PNG: drops tEXt, zTXt, iTXt, tIME and eXIf chunks and anything after IEND.

Both raise ``ValueError`` on malformed data: the caller leaves such a picture as it is.
"""

from __future__ import annotations

from PIL import Image

from intake.files import labels
from intake.files.labels import Info

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ORIENTATION = 0x0112
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: markers without a length
_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"tIME", b"eXIf"}


def strip_jpeg(data: bytes) -> tuple[bytes, set[Info]]:
    """Return ``data`` without metadata segments, and what was found in them."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    out = [b"\xff\xd8"]
    found: set[Info] = set()
    orientation = 1
    pos, end = 2, len(data)
    while True:
        if pos + 2 > end or data[pos] != 0xFF:
            raise ValueError("JPEG marker expected")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of image: whatever follows is dropped
            out.append(b"\xff\xd9")
            if pos + 2 < end:
                found.add(Info.EXTRA_PICTURES if b"\xff\xd8" in data[pos:] else Info.OTHER_TECH)
            break
        if marker in _STANDALONE:
            out.append(data[pos : pos + 2])
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > end:
            raise ValueError("JPEG segment runs past the end")
        segment = data[pos : pos + 2 + length]
        payload = segment[4:]
        pos += 2 + length
        keep, info = _judge(marker, payload)
        found |= info
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            orientation = _orientation(payload)
        if keep:
            out.append(segment)
        if marker == 0xDA:  # start of scan: copy the entropy-coded data up to the next marker
            scan_end = _scan_end(data, pos)
            out.append(data[pos:scan_end])
            pos = scan_end
    if orientation != 1:
        exif = Image.Exif()
        exif[_ORIENTATION] = orientation
        block = exif.tobytes()
        at = 2 if out[1].startswith(b"\xff\xe0") else 1  # after JFIF, which wants to be first
        out.insert(at, b"\xff\xe1" + (len(block) + 2).to_bytes(2, "big") + block)
    return b"".join(out), found


def _judge(marker: int, payload: bytes) -> tuple[bool, set[Info]]:
    """Whether to keep an APPn/COM segment, and what it carried."""
    if marker == 0xFE:
        return False, {Info.TEXT_NOTES}
    if not 0xE0 <= marker <= 0xEF:
        return True, set()  # tables, frame and scan headers: the picture itself
    if marker == 0xE0:
        if payload.startswith(b"JFXX"):
            return False, {Info.EXTRA_PICTURES}
        return True, set()
    if marker == 0xE1:
        if payload.startswith(b"Exif\x00\x00"):
            return False, _exif_found(payload)
        if payload.startswith(b"http://ns.adobe.com/x"):
            return False, {Info.XMP}
        return False, {Info.OTHER_TECH}
    if marker == 0xE2:
        if payload.startswith(b"ICC_PROFILE\x00"):
            return True, set()
        return False, {Info.EXTRA_PICTURES if payload.startswith(b"MPF") else Info.OTHER_TECH}
    if marker == 0xEE:  # APP14 Adobe: colour transform flag
        return True, set()
    if marker == 0xED:
        return False, {Info.IPTC}
    return False, {Info.OTHER_TECH}


def _exif_found(payload: bytes) -> set[Info]:
    try:
        exif = Image.Exif()
        exif.load(payload)
        return labels.exif_info(exif)
    except Exception:  # damaged EXIF: it goes all the same
        return {Info.OTHER_TECH}


def _orientation(payload: bytes) -> int:
    try:
        exif = Image.Exif()
        exif.load(payload)
        value = int(exif.get(_ORIENTATION, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def _scan_end(data: bytes, pos: int) -> int:
    """Offset of the first marker after entropy-coded data (stuffed 0xFF00 and RSTn skipped)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos == -1 or pos + 1 >= len(data):
            raise ValueError("JPEG scan runs past the end")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def strip_png(data: bytes) -> tuple[bytes, set[Info]]:
    """Return ``data`` without text, time and EXIF chunks, and what was found in them."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    out = [PNG_SIGNATURE]
    found: set[Info] = set()
    pos, end = len(PNG_SIGNATURE), len(data)
    while True:
        if pos + 12 > end:
            raise ValueError("PNG chunk runs past the end")
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunk = data[pos + 4 : pos + 8]
        stop = pos + 12 + length
        if stop > end:
            raise ValueError("PNG chunk runs past the end")
        if chunk == b"eXIf":
            found |= _exif_found(b"Exif\x00\x00" + data[pos + 8 : pos + 8 + length])
        elif chunk in _PNG_DROP:
            found.add(_png_found(chunk, data[pos + 8 : pos + 8 + length]))
        else:
            out.append(data[pos:stop])
        pos = stop
        if chunk == b"IEND":
            if pos < end:
                found.add(Info.OTHER_TECH)
            return b"".join(out), found


def _png_found(chunk: bytes, body: bytes) -> Info:
    if chunk == b"tIME":
        return Info.EDIT_DATES
    keyword = body.split(b"\x00", 1)[0].lower()
    return {
        b"author": Info.AUTHOR,
        b"software": Info.SOFTWARE,
        b"creation time": Info.EDIT_DATES,
        b"xml:com.adobe.xmp": Info.XMP,
    }.get(keyword, Info.TEXT_NOTES)
