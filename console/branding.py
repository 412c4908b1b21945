"""Branding checks: the accent colour's contrast (WCAG 2.1 AA) and the logo (re-encoded with
Pillow, so no metadata of the original file survives)."""

from __future__ import annotations

import io
import uuid
import warnings

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

#: WCAG 2.1 AA for normal text (success criterion 1.4.3).
AA_RATIO = 4.5
LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_PIXELS = 4000 * 4000
LOGO_MAX_SIDE = 800  # larger logos are scaled down: the header shows them 40 px high
LOGO_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")


class LogoError(ValueError):
    """The upload is not a logo we accept; the message says why, for the person."""


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_with_white(colour: str) -> float:
    """Contrast ratio of ``#rrggbb`` against white, 1 … 21. The accent is used both as white
    text's background (buttons) and as text on white (links): the same ratio for both."""
    return (1.0 + 0.05) / (relative_luminance(colour) + 0.05)


def accent_problem(colour: str) -> str | None:
    """None if ``colour`` meets WCAG AA against white, else the message for the person."""
    ratio = contrast_with_white(colour)
    if ratio >= AA_RATIO:
        return None
    return _(
        "This colour is too light: its contrast with white is %(ratio).1f : 1, and text must "
        "have at least 4.5 : 1 to be readable for people with low vision (WCAG 2.1 AA). "
        "Buttons show white text on this colour and links show it on white. Choose a darker "
        "shade."
    ) % {"ratio": ratio}


def logo_clean(upload: UploadedFile[bytes]) -> ContentFile[bytes]:
    """The uploaded logo re-encoded as PNG without any metadata, at most LOGO_MAX_SIDE pixels
    wide or high. Raises :class:`LogoError` with a message for the person."""
    if upload.size is not None and upload.size > LOGO_MAX_BYTES:
        raise LogoError(_("The logo is larger than 1 MB. Please upload a smaller file."))
    data = upload.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        raise LogoError(_("The logo is larger than 1 MB. Please upload a smaller file."))
    refusal = _("This file is not a PNG, JPEG, WebP or GIF image. Please upload the logo as one.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(LOGO_FORMATS)) as image:
                if image.width * image.height > LOGO_MAX_PIXELS:
                    raise LogoError(_("The logo has too many pixels. Please upload a smaller one."))
                image.load()
                mode = "RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB"
                # A fresh image from the pixels only: EXIF, XMP, ICC, comments stay behind.
                frame = image.convert(mode)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise LogoError(refusal) from None
    except Image.DecompressionBombWarning:
        raise LogoError(_("The logo has too many pixels. Please upload a smaller one.")) from None
    clean = Image.frombytes(mode, frame.size, frame.tobytes())
    clean.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.png")
