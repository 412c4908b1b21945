"""The XML parts of Office and OpenDocument files that carry names, dates and paths.

Parts are edited as bytes with narrow patterns, never parsed and re-serialised: an XML
library would rename namespace prefixes and drop unused declarations, which breaks Office's
``mc:Ignorable`` and makes Word refuse the file. Each pattern touches only the attributes and
elements listed here; everything else stays byte for byte. Names are replaced by "Author 1",
"Author 2" ... consistently across the whole file, so who-answered-whom stays readable.

OOXML (Word, Excel, PowerPoint):

- ``docProps/core.xml`` (author, last editor, dates, title, subject, keywords, revision ...) and
  ``docProps/app.xml`` (company, manager, template, total editing time, program) are replaced
  by empty but valid property parts; ``docProps/custom.xml`` is dropped, with its relationship
  and its content-type entry.
- Word: authors and initials of comments and tracked changes, their dates, ``w:rsid*`` editing
  session identifiers, the people list's account details (``w15:presenceInfo``, which holds an
  e-mail address or account id) and the document ids (``w14:docId``, ``w15:docId``).
- Excel: authors of comments and threaded comments (the persons list), the user name of
  revisions and of the file-sharing reservation, and the folder the workbook was saved in
  (``x15ac:absPath``).
- PowerPoint: comment authors and initials (``commentAuthors.xml`` and ``authors.xml``).
- Any part: links to files on the sender's computer (``file:``, ``C:\\...``, ``\\\\server``)
  keep only the file name, which removes user and folder names (e.g. Word's template path).

OpenDocument: ``meta.xml`` is replaced by an empty one; authors of comments and tracked
changes (``dc:creator`` in content and styles) are numbered; the printer's name and settings
in ``settings.xml`` are emptied. Dates of comments and changes are kept (ODF requires them).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from intake.files.labels import Info

Edit = tuple[bytes, set[Info]]  # new content of a part, and what was removed from it

CORE_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.'
    b'org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.'
    b'org/2001/XMLSchema-instance"></cp:coreProperties>'
)
APP_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-'
    b'properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    b"</Properties>"
)
META_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta xmlns:office="urn:oasis:'
    b'names:tc:opendocument:xmlns:office:1.0" office:version="%s"><office:meta/>'
    b"</office:document-meta>"
)
_PROPERTIES: dict[bytes, Info] = {
    b"creator": Info.AUTHOR,
    b"initial-creator": Info.AUTHOR,
    b"lastModifiedBy": Info.LAST_EDITOR,
    b"printed-by": Info.LAST_EDITOR,
    b"created": Info.EDIT_DATES,
    b"modified": Info.EDIT_DATES,
    b"lastPrinted": Info.EDIT_DATES,
    b"revision": Info.EDIT_DATES,
    b"creation-date": Info.EDIT_DATES,
    b"date": Info.EDIT_DATES,
    b"print-date": Info.EDIT_DATES,
    b"editing-cycles": Info.EDIT_DATES,
    b"editing-duration": Info.EDIT_DATES,
    b"TotalTime": Info.EDIT_DATES,
    b"title": Info.TITLE,
    b"subject": Info.TITLE,
    b"keywords": Info.TITLE,
    b"keyword": Info.TITLE,
    b"description": Info.TITLE,
    b"category": Info.TITLE,
    b"contentStatus": Info.TITLE,
    b"Company": Info.COMPANY,
    b"Manager": Info.MANAGER,
    b"Template": Info.TEMPLATE,
    b"template": Info.TEMPLATE,
    b"Application": Info.SOFTWARE,
    b"AppVersion": Info.SOFTWARE,
    b"generator": Info.SOFTWARE,
    b"HyperlinkBase": Info.FOLDER_PATHS,
    b"user-defined": Info.CUSTOM,
    b"identifier": Info.OTHER_PROPERTIES,
    b"version": Info.OTHER_PROPERTIES,
}
_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?([\w.-]+)[\s/>]")
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>")
_LOCAL_PATH = re.compile(rb'(\sTarget=")((?:file:|[A-Za-z]:[\\/]|\\\\|/)[^"]*)(")')
_WORD_DROP_ATTRS = re.compile(rb'\s(?:w:rsid\w*|w:date|[\w]+:dateUtc)="[^"]*"')
_WORD_DROP_ELEMENTS = re.compile(
    rb"<w:rsids>.*?</w:rsids>|<w:rsid\b[^>]*/>|<w15:presenceInfo\b[^>]*/>|<w1[45]:docId\b[^>]*/>",
    re.DOTALL,
)
_ABS_PATH = re.compile(
    rb"<mc:AlternateContent\b(?:(?!</mc:AlternateContent>).)*?<x15ac:absPath\b"
    rb".*?</mc:AlternateContent>|<x15ac:absPath\b[^>]*/>",
    re.DOTALL,
)
_PRINTER = re.compile(
    rb'(<config:config-item config:name="Printer(?:Name|Setup)"[^>]*>)([^<]+)(</config)'
)
_ODF_VERSION = re.compile(rb'office:version="([0-9.]{1,8})"')


class Pseudonyms:
    """Gives each distinct name its number: "Author 1", "Author 2" ... in order of appearance."""

    def __init__(self) -> None:
        self._names: dict[bytes, bytes] = {}

    def __call__(self, name: bytes) -> bytes:
        if not name.strip():
            return name
        return self._names.setdefault(name, b"Author %d" % (len(self._names) + 1))


#: Rewrites one part: (part name, content, the file's pseudonyms) -> edit.
Editor = Callable[[str, bytes, Pseudonyms], Edit]


def properties_found(data: bytes) -> set[Info]:
    """What a property part (core.xml, app.xml, meta.xml) held, by its element names."""
    return {_PROPERTIES[name] for name in _ELEMENT.findall(data) if name in _PROPERTIES}


def odf_meta(data: bytes) -> Edit:
    version = _ODF_VERSION.search(data)
    return META_XML % (version.group(1) if version else b"1.2"), properties_found(data)


def drop_references(data: bytes, part: str) -> bytes:
    """Remove the relationship and the content-type override that point at ``part``."""
    target = re.escape(part.encode())
    data = re.sub(rb'<Relationship\b[^>]*\sTarget="/?' + target + rb'"[^>]*/>', b"", data)
    return re.sub(rb'<Override\b[^>]*\sPartName="/' + target + rb'"[^>]*/>', b"", data)


def local_paths(data: bytes) -> Edit:
    """In a ``.rels`` part: external links to local files keep only their file name."""
    found: set[Info] = set()

    def tag(match: re.Match[bytes]) -> bytes:
        relationship = match.group(0)
        if b'TargetMode="External"' not in relationship:
            return relationship

        def basename(target: re.Match[bytes]) -> bytes:
            found.add(Info.FOLDER_PATHS)
            name = re.split(rb"[\\/]", target.group(2))[-1]
            return target.group(1) + name + target.group(3)

        return _LOCAL_PATH.sub(basename, relationship)

    return _RELATIONSHIP.sub(tag, data), found


def _attributes(
    data: bytes, names: bytes, value: Callable[[bytes], bytes], found: set[Info], what: Info
) -> bytes:
    pattern = re.compile(rb"(\s(?:" + names + rb')=")([^"]*)(")')

    def replace(match: re.Match[bytes]) -> bytes:
        found.add(what)
        return match.group(1) + value(match.group(2)) + match.group(3)

    return pattern.sub(replace, data)


def _texts(
    data: bytes, element: bytes, value: Callable[[bytes], bytes], found: set[Info], what: Info
) -> bytes:
    pattern = re.compile(rb"(<" + element + rb">)([^<]*)(</" + element + rb">)")

    def replace(match: re.Match[bytes]) -> bytes:
        found.add(what)
        return match.group(1) + value(match.group(2)) + match.group(3)

    return pattern.sub(replace, data)


def _people(data: bytes, tag: bytes, name: bytes, names: Pseudonyms) -> bytes:
    """Number the name of each ``tag`` element; its account id gets the same number."""

    def person(match: re.Match[bytes]) -> bytes:
        element = match.group(0)
        own = re.search(rb"\s" + name + rb'="([^"]*)"', element)
        alias = names(own.group(1)) if own else b"Author"
        element = re.sub(
            rb"(\s(?:" + name + rb'|userId)=")[^"]*"', rb"\g<1>" + alias + b'"', element
        )
        element = re.sub(rb'(\sinitials=")[^"]*"', rb'\g<1>A"', element)
        return re.sub(rb'(\sproviderId=")[^"]*"', rb'\g<1>None"', element)

    return re.sub(rb"<" + tag + rb"\b[^>]*>", person, data)


def word(name: str, data: bytes, names: Pseudonyms) -> Edit:
    found: set[Info] = set()
    commented = name.rsplit("/", 1)[-1].startswith(("comments", "people"))
    who = Info.COMMENT_AUTHORS if commented else Info.CHANGE_AUTHORS
    data = _attributes(data, rb"w:author|w15:author", names, found, who)
    data = _attributes(data, rb"w:initials", lambda _: b"A", found, who)
    if re.search(rb'\sw:rsid\w*="', data):
        found.add(Info.EDIT_SESSIONS)
    if re.search(rb'\s(?:w:date|\w+:dateUtc)="', data):
        found.add(Info.EDIT_DATES)
    data = _WORD_DROP_ATTRS.sub(b"", data)
    for match in _WORD_DROP_ELEMENTS.finditer(data):
        element = match.group(0)
        found.add(
            Info.EDIT_SESSIONS
            if element.startswith(b"<w:rsid")
            else Info.COMMENT_AUTHORS
            if element.startswith(b"<w15:presence")
            else Info.DOC_ID
        )
    return _WORD_DROP_ELEMENTS.sub(b"", data), found


def excel(name: str, data: bytes, names: Pseudonyms) -> Edit:
    found: set[Info] = set()
    base = name.rsplit("/", 1)[-1]
    if base.startswith("comments"):
        data = _texts(data, b"author", names, found, Info.COMMENT_AUTHORS)
    elif name.startswith("xl/persons/"):
        if b"<person" in data:
            found.add(Info.COMMENT_AUTHORS)
        data = _people(data, b"person", b"displayName", names)
    elif name == "xl/workbook.xml":
        if _ABS_PATH.search(data):
            found.add(Info.FOLDER_PATHS)
            data = _ABS_PATH.sub(b"", data)
        data = _attributes(data, b"userName", names, found, Info.LAST_EDITOR)
    elif name.startswith("xl/revisions/"):
        data = _attributes(data, b"userName", names, found, Info.CHANGE_AUTHORS)
    return data, found


def powerpoint(name: str, data: bytes, names: Pseudonyms) -> Edit:
    found: set[Info] = set()
    tag = {"ppt/commentAuthors.xml": b"p:cmAuthor", "ppt/authors.xml": b"p188:author"}.get(name)
    if tag is not None and b"<" + tag in data:
        found.add(Info.COMMENT_AUTHORS)
        data = _people(data, tag, b"name", names)
    return data, found


def odf(name: str, data: bytes, names: Pseudonyms) -> Edit:
    found: set[Info] = set()
    if name == "settings.xml":
        if _PRINTER.search(data):
            found.add(Info.PRINTER)
            data = _PRINTER.sub(rb"\1\3", data)
        return data, found
    who = Info.CHANGE_AUTHORS if b"<text:changed-region" in data else Info.COMMENT_AUTHORS
    data = _texts(data, b"dc:creator", names, found, who)
    if b"<office:annotation" in data and b"<text:changed-region" in data and found:
        found.add(Info.COMMENT_AUTHORS)
    data = _texts(data, b"meta:creator-initials", lambda _: b"A", found, who)
    return data, found
