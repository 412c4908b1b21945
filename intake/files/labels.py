"""What the reporter is told, per file: labels for what was removed and reasons for what was not.

Every string here is shown to a non-technical reporter next to their file, so it names the
information in plain words ("location (GPS)"), never the format detail ("EXIF GPS IFD"). They are
lazy so the reporter's language applies when the report is rendered, not when the module loads.
A label is listed in a :class:`~intake.files.clean.CleanReport` only when that information was
actually found in the file and removed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django_stubs_ext import StrOrPromise as Label
    from PIL import Image


# --- what was removed ------------------------------------------------------------------------
class Info(StrEnum):
    """A kind of hidden information; the definition order is the order shown to the reporter."""

    LOCATION = "location"
    TAKEN_AT = "taken_at"
    CAMERA = "camera"
    SERIAL = "serial"
    AUTHOR = "author"
    LAST_EDITOR = "last_editor"
    COMMENT_AUTHORS = "comment_authors"
    CHANGE_AUTHORS = "change_authors"
    COMPANY = "company"
    MANAGER = "manager"
    COMPUTER = "computer"
    PRINTER = "printer"
    FOLDER_PATHS = "folder_paths"
    SCREEN_PROFILE = "screen_profile"
    TITLE = "title"
    DESCRIPTION = "description"
    TEXT_NOTES = "text_notes"
    EDIT_DATES = "edit_dates"
    EDIT_SESSIONS = "edit_sessions"
    OLD_VERSIONS = "old_versions"
    DOC_ID = "doc_id"
    TEMPLATE = "template"
    SOFTWARE = "software"
    CUSTOM = "custom"
    OTHER_PROPERTIES = "other_properties"
    XMP = "xmp"
    IPTC = "iptc"
    APP_DATA = "app_data"
    EXTRA_PICTURES = "extra_pictures"
    OTHER_TECH = "other_tech"
    EMBEDDED = "embedded"  # only ever in CleanReport.remaining: what could not be cleaned


#: What the reporter reads for each :class:`Info` (lazy: rendered in their language).
LABELS: dict[Info, Label] = {
    Info.LOCATION: _("location (GPS)"),
    Info.TAKEN_AT: _("date and time the picture was taken"),
    Info.CAMERA: _("camera make and model"),
    Info.SERIAL: _("serial numbers and unique identifiers of the device or picture"),
    Info.AUTHOR: _("author"),
    Info.LAST_EDITOR: _("name of the person who last edited it"),
    Info.COMMENT_AUTHORS: _("comments' author names"),
    Info.CHANGE_AUTHORS: _("names in tracked changes"),
    Info.COMPANY: _("company or organisation name"),
    Info.MANAGER: _("manager's name"),
    Info.COMPUTER: _("name of the computer"),
    Info.PRINTER: _("printer name"),
    Info.FOLDER_PATHS: _("folder paths from the computer"),
    Info.SCREEN_PROFILE: _("name and colour settings of the screen or device"),
    Info.TITLE: _("title, subject and keywords"),
    Info.DESCRIPTION: _("hidden descriptions and comments"),
    Info.TEXT_NOTES: _("hidden text notes"),
    Info.EDIT_DATES: _("editing history and dates"),
    Info.EDIT_SESSIONS: _("traces of editing sessions"),
    Info.OLD_VERSIONS: _("earlier saved versions of the document"),
    Info.DOC_ID: _("unique document identifier"),
    Info.TEMPLATE: _("template name"),
    Info.SOFTWARE: _("names of the programs used"),
    Info.CUSTOM: _("custom document properties"),
    Info.OTHER_PROPERTIES: _("other document properties"),
    Info.XMP: _("hidden description and editing data (XMP)"),
    Info.IPTC: _("captions, keywords and credits (IPTC)"),
    Info.APP_DATA: _("private data of the editing program"),
    Info.EXTRA_PICTURES: _("hidden extra pictures (previews)"),
    Info.OTHER_TECH: _("other technical details from the camera or program"),
    Info.EMBEDDED: _("files, videos and sounds embedded in it"),
}


# --- why a file was not cleaned ----------------------------------------------------------------
UNSUPPORTED = _(
    "This type of file cannot be cleaned of hidden information. It will be stored as it is."
)
ARCHIVE = _(
    "Files inside an archive (ZIP) cannot be cleaned of hidden information. It will be stored "
    "as it is. If you can, upload the files one by one instead."
)
PLAIN_TEXT = _("Plain text has no hidden information to remove. It will be stored as it is.")
HEIC = _(
    "HEIC photos cannot be cleaned yet, so hidden information such as the place where the "
    "photo was taken may remain. It will be stored as it is. If you can, send the photo as "
    "JPEG instead."
)
IMAGE_TOO_LARGE = _("The image is too large to be cleaned. It will be stored as it is.")
DOCUMENT_TOO_LARGE = _(
    "The document is too large or too complex to be cleaned. It will be stored as it is."
)
PDF_PASSWORD = _(
    "The PDF is protected by a password and cannot be cleaned. It will be stored as it is."
)
DAMAGED = _("The file seems to be damaged and could not be cleaned. It will be stored as it is.")

# --- EXIF tags (images, and JPEG pictures inside documents) ------------------------------------
GPS_IFD, EXIF_IFD = 0x8825, 0x8769
_EXIF_INFO: dict[int, Info] = {
    0x010F: Info.CAMERA,  # Make
    0x0110: Info.CAMERA,  # Model
    0xA433: Info.CAMERA,  # LensMake
    0xA434: Info.CAMERA,  # LensModel
    0xA431: Info.SERIAL,  # BodySerialNumber
    0xA435: Info.SERIAL,  # LensSerialNumber
    0xA420: Info.SERIAL,  # ImageUniqueID
    0x0132: Info.TAKEN_AT,  # DateTime
    0x9003: Info.TAKEN_AT,  # DateTimeOriginal
    0x9004: Info.TAKEN_AT,  # DateTimeDigitized
    0x013B: Info.AUTHOR,  # Artist
    0x8298: Info.AUTHOR,  # Copyright
    0x9C9D: Info.AUTHOR,  # XPAuthor
    0xA430: Info.AUTHOR,  # CameraOwnerName
    0x0131: Info.SOFTWARE,  # Software
    0x000B: Info.SOFTWARE,  # ProcessingSoftware
    0x013C: Info.COMPUTER,  # HostComputer
    0x010E: Info.DESCRIPTION,  # ImageDescription
    0x9286: Info.DESCRIPTION,  # UserComment
    0x9C9B: Info.DESCRIPTION,  # XPTitle
    0x9C9C: Info.DESCRIPTION,  # XPComment
    0x9C9E: Info.DESCRIPTION,  # XPKeywords
    0x9C9F: Info.DESCRIPTION,  # XPSubject
    0x02BC: Info.XMP,  # XMLPacket (TIFF)
    0x83BB: Info.IPTC,  # IPTC-NAA (TIFF)
    0x8649: Info.IPTC,  # Photoshop image resources (TIFF)
}
# Tags that say nothing about who, where or with what: not worth telling the reporter about.
_EXIF_BENIGN = frozenset(
    {
        0x0112, 0x011A, 0x011B, 0x0128, 0x0213, EXIF_IFD, GPS_IFD,  # orientation, resolution
        0x9000, 0x9101, 0xA000, 0xA001, 0xA002, 0xA003,  # versions, colour space, pixel size
    }
)  # fmt: skip
# Structural tags every TIFF has (sizes, strips, compression): they describe the pixels only.
_TIFF_LAYOUT = [*range(0x00FE, 0x0160), *range(0x0200, 0x0215), 0x8773]
_TIFF_STRUCTURE = frozenset(_TIFF_LAYOUT) - set(_EXIF_INFO)


def exif_info(exif: Image.Exif, *, tiff: bool = False) -> set[Info]:
    """The identifying information in ``exif`` (empty when there is none).

    ``tiff`` ignores the structural tags that every TIFF file has in the same directory.
    """
    found: set[Info] = set()
    if exif.get_ifd(GPS_IFD):
        found.add(Info.LOCATION)
    for tag in [*exif.keys(), *exif.get_ifd(EXIF_IFD).keys()]:
        info = _EXIF_INFO.get(tag)
        if info is not None:
            found.add(info)
        elif tag not in _EXIF_BENIGN and not (tiff and tag in _TIFF_STRUCTURE):
            found.add(Info.OTHER_TECH)
    return found


def labels(found: Iterable[Info]) -> tuple[Label, ...]:
    """The reporter's labels for ``found``, without repeats, in :class:`Info` order."""
    present = set(found)
    return tuple(LABELS[info] for info in Info if info in present)
