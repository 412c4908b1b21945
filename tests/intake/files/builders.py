"""Real files full of identifying metadata, built in memory for the cleaning tests.

Every identifying value contains ``SENT``-prefixed sentinels (see ``SENTINELS``) so a test can
search the cleaned bytes for any of them. Office files are assembled part by part with only
the parts Office needs, plus the metadata parts under test.
"""

from __future__ import annotations

import io
import zipfile

import pikepdf
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

AUTHOR = "SENTINEL-author-42"
EDITOR = "SENTINEL-editor-17"
COMPANY = "SENTINEL-company-99"
MAKE = "SENTINEL-make-1"
MODEL = "SENTINEL-model-2"
XMP_NAME = "SENTINEL-xmp-3"
COMMENTER = "SENTINEL-commenter-5"
CHANGER = "SENTINEL-changer-6"
EMAIL = "SENTINEL-mail@example.org"
USER_DIR = "SENTINEL-user-7"
PRINTER = "SENTINEL-printer-8"
CUSTOM = "SENTINEL-custom-9"
OLD_AUTHOR = "SENTINEL-old-author-10"
SENTINELS = (
    AUTHOR, EDITOR, COMPANY, MAKE, MODEL, XMP_NAME, COMMENTER, CHANGER, EMAIL, USER_DIR, PRINTER,
    CUSTOM, OLD_AUTHOR,
)  # fmt: skip
LATITUDE = (52.0, 31.0, 12.0)


def photo_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = MODEL
    exif[ExifTags.Base.Artist] = AUTHOR
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = LATITUDE
    return exif


def two_colours(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: shows which way the picture was turned."""
    image = Image.new(mode, size, "blue")
    image.paste(Image.new(mode, (size[0] // 2, size[1]), "red"), (0, 0))
    return image


def jpeg(orientation: int = 6, size: tuple[int, int] = (40, 20)) -> bytes:
    out = io.BytesIO()
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc>{XMP_NAME}</dc></x:xmpmeta>'.encode()
    two_colours(size).save(
        out, "JPEG", exif=photo_exif(orientation), xmp=xmp, comment=COMMENTER, quality=80
    )
    return out.getvalue()


def png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", AUTHOR)
    info.add_text("Software", MAKE, zip=True)
    info.add_itxt("Comment", COMMENTER, zip=False)
    info.add(b"tIME", b"\x07\xe8\x05\x11\x0c\x22\x38")
    out = io.BytesIO()
    two_colours(mode="RGBA").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    two_colours().save(out, "WEBP", exif=photo_exif(1), lossless=True)
    return out.getvalue()


def tiff() -> bytes:
    out = io.BytesIO()
    tags = {315: AUTHOR, 305: MAKE, 316: MODEL}  # Artist, Software, HostComputer
    two_colours().save(out, "TIFF", tiffinfo=tags, compression="tiff_lzw")
    return out.getvalue()


def gif(frames: int = 3) -> bytes:
    images = [Image.new("P", (16, 16), colour) for colour in range(frames)]
    for index, image in enumerate(images):
        image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] * 64)
        image.paste(3 - index if index < 3 else 0, (0, 0, 8, 8))
    out = io.BytesIO()
    images[0].save(
        out, "GIF", save_all=True, append_images=images[1:], duration=[100, 200, 300][:frames],
        loop=0, comment=COMMENTER,
    )  # fmt: skip
    return out.getvalue()


# --- PDF -----------------------------------------------------------------------------------------


def screen_profile() -> bytes:
    """An sRGB profile renamed as a calibrated monitor's, like macOS puts into screenshots."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    standard, own = "sRGB built-in", "DELL U2720Q X"  # same length: the tag sizes still fit
    return profile.replace(standard.encode("utf-16-be"), own.encode("utf-16-be"))


def png_with_profile(profile: bytes) -> bytes:
    out = io.BytesIO()
    two_colours().save(out, "PNG", icc_profile=profile)
    return out.getvalue()


def pdf(
    pages: int = 2, *, photo: bytes | None = None, password: str = "", owner: str = ""
) -> bytes:
    """Info dictionary, XMP, a commented page, a JPEG picture, and an incremental update."""
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page()
    with document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["dc:creator"] = [XMP_NAME]
    document.docinfo["/Author"] = OLD_AUTHOR
    page = document.pages[0]
    field = document.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            FT=pikepdf.Name.Tx,
            Rect=[60, 60, 90, 90],
            T=pikepdf.String("field-name"),
        )
    )
    document.Root.AcroForm = pikepdf.Dictionary(Fields=[field])
    note = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Text,
        Rect=[10, 10, 50, 50],
        T=pikepdf.String(COMMENTER),
        Contents=pikepdf.String("visible note"),
        M=pikepdf.String("D:20240101"),
    )
    page.obj["/Annots"] = document.make_indirect(pikepdf.Array([note, field]))  # fmt: skip
    if photo is not None:
        with Image.open(io.BytesIO(photo)) as image:
            width, height = image.size
        picture = pikepdf.Stream(document, photo)
        picture.write(photo, filter=pikepdf.Name.DCTDecode)
        picture.Type, picture.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        picture.Width, picture.Height = width, height
        picture.ColorSpace, picture.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=picture))
        page.Contents = pikepdf.Stream(document, b"q 40 0 0 20 0 0 cm /Im0 Do Q")
    out = io.BytesIO()
    encrypted = bool(password or owner)
    encryption = pikepdf.Encryption(owner=owner or "owner", user=password) if encrypted else False
    document.save(out, compress_streams=False, encryption=encryption)
    data = out.getvalue()
    return data if encrypted else _incremental_update(data)


def _incremental_update(data: bytes) -> bytes:
    """Append a revision that changes the author (the old one stays in the file)."""
    with pikepdf.open(io.BytesIO(data)) as document:
        root = document.trailer.Root.objgen[0]
        size = int(document.trailer.Size)
        previous = data.rindex(b"startxref")
        previous_xref = int(data[previous + 9 :].split()[0])
    new = size
    body = (
        f"{new} 0 obj\n<< /Author ({AUTHOR}) /Creator ({MAKE}) /Producer ({MODEL}) >>\nendobj\n"
    ).encode()
    offset = len(data) + 1
    xref = len(data) + 1 + len(body)
    tail = (
        f"xref\n{new} 1\n{offset:010d} 00000 n \ntrailer\n<< /Size {new + 1} /Root {root} 0 R "
        f"/Info {new} 0 R /Prev {previous_xref} >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return data + b"\n" + body + tail


# --- Office and OpenDocument -------------------------------------------------------------------

CT = "http://schemas.openxmlformats.org/package/2006/content-types"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
ODR = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'


def _core() -> str:
    return (
        f'{XML}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>Plan</dc:title><dc:creator>{AUTHOR}</dc:creator>"
        f"<cp:lastModifiedBy>{EDITOR}</cp:lastModifiedBy><cp:revision>7</cp:revision>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2024-05-17T09:12:00Z</dcterms:created>'
        "</cp:coreProperties>"
    )


def _app(application: str) -> str:
    return (
        f'{XML}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties"><Template>Normal.dotm</Template><TotalTime>42</TotalTime>'
        f"<Application>{application}</Application><Company>{COMPANY}</Company>"
        f"<Manager>{EDITOR}</Manager></Properties>"
    )


def _custom() -> str:
    return (
        f'{XML}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
        'docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" '
        f'name="Owner"><vt:lpwstr>{CUSTOM}</vt:lpwstr></property></Properties>'
    )


def _package(main: str, main_type: str, parts: dict[str, str | bytes], overrides: str) -> bytes:
    types = (
        f'{XML}<Types xmlns="{CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="jpeg" ContentType="image/jpeg"/>'
        f'<Override PartName="/{main}" ContentType="{main_type}"/>{overrides}'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-'
        'package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        '<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.custom-properties+xml"/></Types>'
    )
    rels = (
        f'{XML}<Relationships xmlns="{RELS}">'
        f'<Relationship Id="rId1" Type="{ODR}/officeDocument" Target="{main}"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
        'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{ODR}/extended-properties" Target="docProps/app.xml"/>'
        f'<Relationship Id="rId4" Type="{ODR}/custom-properties" Target="docProps/custom.xml"/>'
        "</Relationships>"
    )
    members: dict[str, str | bytes] = {
        "[Content_Types].xml": types,
        "_rels/.rels": rels,
        "docProps/core.xml": _core(),
        "docProps/app.xml": _app(main.split("/")[0]),
        "docProps/custom.xml": _custom(),
        **parts,
    }
    return zip_of(members, date_time=(2024, 5, 17, 9, 12, 0))


def zip_of(
    members: dict[str, str | bytes],
    *,
    date_time: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0),
    stored: tuple[str, ...] = (),
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return out.getvalue()


def docx(*, picture: bytes | None = None, extra: dict[str, str | bytes] | None = None) -> bytes:
    document = (
        f'{XML}<w:document xmlns:w="{W}" xmlns:w14="{W14}" xmlns:mc="{MC}" '
        'mc:Ignorable="w14 wp14"><w:body>'
        '<w:p w:rsidR="00A1B2C3" w:rsidRDefault="00A1B2C3"><w:r><w:t>Visible text</w:t></w:r>'
        f'<w:ins w:id="1" w:author="{CHANGER}" w:date="2024-05-17T09:12:00Z">'
        '<w:r w:rsidR="00D4E5F6"><w:t>inserted</w:t></w:r></w:ins>'
        '<w:commentReference w:id="0"/></w:p></w:body></w:document>'
    )
    comments = (
        f'{XML}<w:comments xmlns:w="{W}"><w:comment w:id="0" w:author="{COMMENTER}" '
        'w:date="2024-05-17T09:13:00Z" w:initials="SC"><w:p><w:r><w:t>Look here</w:t></w:r>'
        f'</w:p></w:comment><w:comment w:id="1" w:author="{CHANGER}" w:initials="CH">'
        "<w:p><w:r><w:t>And here</w:t></w:r></w:p></w:comment></w:comments>"
    )
    people = (
        f'{XML}<w15:people xmlns:w15="{W15}"><w15:person w15:author="{COMMENTER}">'
        f'<w15:presenceInfo w15:providerId="AD" w15:userId="S::{EMAIL}::1234"/></w15:person>'
        "</w15:people>"
    )
    settings = (
        f'{XML}<w:settings xmlns:w="{W}" xmlns:r="{ODR}" xmlns:w14="{W14}" xmlns:w15="{W15}">'
        '<w:attachedTemplate r:id="rId1"/><w:rsids><w:rsidRoot w:val="00A1B2C3"/>'
        '<w:rsid w:val="00A1B2C3"/></w:rsids><w14:docId w14:val="5A1B2C3D"/>'
        '<w15:docId w15:val="{12345678-1234-1234-1234-123456789ABC}"/></w:settings>'
    )
    settings_rels = (
        f'{XML}<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
        f'Type="{ODR}/attachedTemplate" Target="file:///C:\\Users\\{USER_DIR}\\AppData\\Roaming'
        '\\Microsoft\\Templates\\Normal.dotm" TargetMode="External"/></Relationships>'
    )
    document_rels = (
        f'{XML}<Relationships xmlns="{RELS}">'
        f'<Relationship Id="rId1" Type="{ODR}/comments" Target="comments.xml"/>'
        f'<Relationship Id="rId2" Type="{ODR}/settings" Target="settings.xml"/>'
        f'<Relationship Id="rId3" Type="{ODR}/hyperlink" Target="https://example.org/a/b" '
        'TargetMode="External"/>'
        f'<Relationship Id="rId4" Type="{ODR}/image" Target="media/image1.jpeg"/>'
        "</Relationships>"
    )
    wml = "application/vnd.openxmlformats-officedocument.wordprocessingml"
    parts: dict[str, str | bytes] = {
        "word/document.xml": document,
        "word/_rels/document.xml.rels": document_rels,
        "word/comments.xml": comments,
        "word/people.xml": people,
        "word/settings.xml": settings,
        "word/_rels/settings.xml.rels": settings_rels,
        "word/styles.xml": f'{XML}<w:styles xmlns:w="{W}"><w:style w:type="paragraph" '
        'w:styleId="Normal"><w:name w:val="Normal"/><w:rsid w:val="00E7F8A9"/></w:style>'
        "</w:styles>",
        "word/media/image1.jpeg": picture if picture is not None else jpeg(),
        **(extra or {}),
    }
    overrides = (
        f'<Override PartName="/word/comments.xml" ContentType="{wml}.comments+xml"/>'
        f'<Override PartName="/word/settings.xml" ContentType="{wml}.settings+xml"/>'
    )
    return _package("word/document.xml", f"{wml}.document.main+xml", parts, overrides)


def xlsx() -> bytes:
    sml = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    workbook = (
        f'{XML}<workbook xmlns="{sml}" xmlns:r="{ODR}" xmlns:mc="{MC}" '
        'xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main" '
        'mc:Ignorable="x15"><fileSharing userName="' + EDITOR + '"/>'
        '<mc:AlternateContent xmlns:mc="' + MC + '"><mc:Choice Requires="x15">'
        '<x15ac:absPath url="C:\\Users\\' + USER_DIR + '\\Documents\\" '
        'xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"/>'
        "</mc:Choice></mc:AlternateContent>"
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    sheet = f'{XML}<worksheet xmlns="{sml}"><sheetData><row r="1"><c r="A1" t="inlineStr">' \
        "<is><t>Visible cell</t></is></c></row></sheetData></worksheet>"  # fmt: skip
    comments = (
        f'{XML}<comments xmlns="{sml}"><authors><author>{COMMENTER}</author></authors>'
        '<commentList><comment ref="A1" authorId="0"><text><t>note</t></text></comment>'
        "</commentList></comments>"
    )
    persons = (
        f'{XML}<personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/'
        f'threadedcomments"><person displayName="{COMMENTER}" id="{{1}}" userId="{EMAIL}" '
        'providerId="AD"/></personList>'
    )
    workbook_rels = (
        f'{XML}<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{ODR}/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    )
    sml_type = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts: dict[str, str | bytes] = {
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": workbook_rels,
        "xl/worksheets/sheet1.xml": sheet,
        "xl/comments1.xml": comments,
        "xl/persons/person.xml": persons,
    }
    overrides = (
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sml_type}.worksheet+xml"/>'
    )
    return _package("xl/workbook.xml", f"{sml_type}.sheet.main+xml", parts, overrides)


def pptx(*, macros: bool = False) -> bytes:
    pml = "http://schemas.openxmlformats.org/presentationml/2006/main"
    presentation = (
        f'{XML}<p:presentation xmlns:p="{pml}" xmlns:r="{ODR}"><p:sldIdLst/>'
        '<p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/>'
        "</p:presentation>"
    )
    authors = (
        f'{XML}<p:cmAuthorLst xmlns:p="{pml}"><p:cmAuthor id="0" name="{COMMENTER}" '
        'initials="SC" lastIdx="1" clrIdx="0"/></p:cmAuthorLst>'
    )
    modern = (
        f'{XML}<p188:authorLst xmlns:p188="http://schemas.microsoft.com/office/powerpoint/2018/8/'
        f'main"><p188:author id="{{1}}" name="{CHANGER}" initials="CH" userId="{EMAIL}" '
        'providerId="AD"/></p188:authorLst>'
    )
    kind = (
        "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"
        if macros
        else "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
    )
    parts: dict[str, str | bytes] = {
        "ppt/presentation.xml": presentation,
        "ppt/commentAuthors.xml": authors,
        "ppt/authors.xml": modern,
    }
    return _package("ppt/presentation.xml", kind, parts, "")


def odt() -> bytes:
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    ns = (
        f'xmlns:office="{office}" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
        'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {ns} '
        'office:version="1.3"><office:body><office:text><text:p>Visible text'
        f"<office:annotation><dc:creator>{COMMENTER}</dc:creator><dc:date>2024-05-17T09:12:00"
        "</dc:date><meta:creator-initials>SC</meta:creator-initials><text:p>note</text:p>"
        "</office:annotation></text:p></office:text></office:body></office:document-content>"
    )
    meta = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta {ns} '
        f'office:version="1.3"><office:meta><meta:initial-creator>{AUTHOR}</meta:initial-creator>'
        f"<dc:creator>{EDITOR}</dc:creator><meta:generator>{MAKE}</meta:generator>"
        "<meta:editing-cycles>3</meta:editing-cycles></office:meta></office:document-meta>"
    )
    settings = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-settings {ns} '
        'office:version="1.3"><office:settings><config:config-item-set config:name="ooo:'
        'configuration-settings"><config:config-item config:name="PrinterName" '
        f'config:type="string">{PRINTER}</config:config-item></config:config-item-set>'
        "</office:settings></office:document-settings>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest="urn:oasis:'
        'names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry '
        'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="settings.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    members: dict[str, str | bytes] = {
        "mimetype": "application/vnd.oasis.opendocument.text",
        "content.xml": content,
        "meta.xml": meta,
        "settings.xml": settings,
        "META-INF/manifest.xml": manifest,
    }
    return zip_of(members, date_time=(2024, 5, 17, 9, 12, 0), stored=("mimetype",))
