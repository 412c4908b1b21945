"""Case file export (DOC-1) with redaction (CF-3): the PDF, the ZIP, the audit event, access.

PDF text is read back with pikepdf (already a dependency, independent of weasyprint): the text
shown on each page is decoded through each font's ToUnicode map, and every string and stream
of the file is searched as well, so "not in the PDF" means not anywhere in it.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.html import escape

from casework.export import BLOCK, Redactor, html_to_pdf
from casework.models import AuditEvent
from chat.models import Message
from intake.models import Case
from tests.casework.helpers import case_url
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import ANSWERS, open_mailbox, reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry
from whistle.tenants.services import membership_add, office_create

pytestmark = pytest.mark.django_db


KEPT = ANSWERS["what"]["what"]  # "SENTINEL-what-happened-3141"
SECRET = ANSWERS["who"]["who"]  # "SENTINEL-who-2718": blacked out
NAME = "Ada Lovelace"  # blacked out wherever it occurs, also across a line break
FILE_BYTES = b"ledger line 1\nledger line 2\n" * 50
FILE_NAME = "lovelace-ledger.txt"
NOTE = "Call <b>Ada</b> & LOVELACE's manager; keep SENTINEL-note-kept-1618"
ACK = "We received your report.\nWe will talk to Ada\nLovelace next week."
REPORTER_MESSAGE = "One more thing about sentinel-WHO-2718: SENTINEL-message-kept-5772"
REDACTIONS = "  sentinel-WHO-2718  \n\nada   lovelace\nLovelace\n"


# --- reading a PDF back ---------------------------------------------------------------------


def _hex(token: str) -> bytes:
    return bytes.fromhex(token.strip("<>"))


def _to_unicode(font: pikepdf.Object) -> dict[bytes, str]:
    """Code → text from a font's ToUnicode CMap (bfchar and bfrange entries)."""
    if "/ToUnicode" not in font:
        return {}
    cmap = font.ToUnicode.read_bytes().decode("latin-1")
    table: dict[bytes, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in re.findall(r"(<[0-9a-fA-F]+>)\s*(<[0-9a-fA-F]+>)", block):
            table[_hex(src)] = _hex(dst).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(r"(<\w+>)\s*(<\w+>)\s*(<\w+>)", block):
            start, end, first = _hex(lo), _hex(hi), _hex(dst)
            for offset in range(int.from_bytes(end) - int.from_bytes(start) + 1):
                code = (int.from_bytes(start) + offset).to_bytes(len(start))
                table[code] = (
                    (int.from_bytes(first) + offset).to_bytes(len(first)).decode("utf-16-be")
                )
    return table


def _decode(data: bytes, table: dict[bytes, str]) -> str:
    width = len(next(iter(table))) if table else 1
    return "".join(table.get(data[i : i + width], "?") for i in range(0, len(data), width))


def _shown_text(resources: Any, content: Any) -> Iterator[str]:
    fonts: Any = resources.get("/Font", {})
    xobjects: Any = resources.get("/XObject", {})
    table: dict[bytes, str] = {}
    instructions: list[Any] = list(pikepdf.parse_content_stream(content))
    for operands, operator in instructions:
        op = str(operator)
        if op == "Tf":
            table = _to_unicode(fonts[operands[0]])
        elif op == "Tj":
            yield _decode(bytes(operands[0]), table)
        elif op == "TJ":
            yield "".join(
                _decode(bytes(part), table)
                for part in operands[0]
                if isinstance(part, pikepdf.String)
            )
        elif op == "Do" and xobjects.get(operands[0], {}).get("/Subtype") == "/Form":
            form = xobjects[operands[0]]
            yield from _shown_text(form.get("/Resources", resources), form)


def pdf_text(data: bytes) -> str:
    """The text shown on the PDF's pages, one line per text-showing operation."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return "\n".join(
            line for page in pdf.pages for line in _shown_text(page.Resources, page.obj)
        )


def pdf_raw(data: bytes) -> str:
    """Every string and (decompressed) stream in the file, metadata included, as text."""
    parts = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                raw = obj.read_bytes()
                parts += [raw.decode("latin-1"), raw.decode("utf-16-be", "ignore")]
            elif isinstance(obj, pikepdf.Dictionary | pikepdf.Array):
                parts.append(str(obj))
        parts += [str(v) for v in pdf.docinfo.values()]
    return "\n".join(parts)


def assert_not_in_pdf(data: bytes, phrase: str) -> None:
    flat = re.sub(r"\s+", " ", pdf_text(data)).casefold()
    assert phrase.casefold() not in flat
    assert phrase.casefold() not in pdf_raw(data).casefold()


# --- a case with a file, a note and messages, built through the real pages ------------------


def export_url(world: World, case: Case) -> str:
    return case_url(world, case, "export/")


def case_with_everything(world: World, sensitive: SensitiveRegistry) -> tuple[Client, Case]:
    """Keys, a report with a file, a confirmation of receipt, a note and a reporter message."""
    sensitive.add(KEPT, SECRET, "SENTINEL-note-kept-1618", "SENTINEL-message-kept-5772")
    lead, _recovery = setup_keys(world)
    files = {"evidence": [SimpleUploadedFile(FILE_NAME, FILE_BYTES, "text/plain")]}
    receipt, _page = submit_report(reporter(), world, files=files)
    case = Case.objects.get(tenant=world.tenant)
    for action, data in (("acknowledge", {"message": ACK}), ("note", {"body": NOTE})):
        response = lead.post(case_url(world, case, f"do/{action}/"), data)
        assert response.status_code == 302, response.content.decode()[:500]
    client = reporter()
    open_mailbox(client, world, receipt)
    client.post(f"/t/{world.tenant.slug}/mailbox/message/", {"body": REPORTER_MESSAGE})
    assert Message.objects.filter(case=case, side=Message.Side.REPORTER, read=False).exists()
    return lead, case


def download(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def exports_of(case: Case) -> int:
    return AuditEvent.objects.filter(case_public_id=case.public_id, verb="case.exported").count()


def test_export_pdf_and_zip_black_out_every_occurrence(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    lead, case = case_with_everything(world_a, sensitive)
    form = lead.get(export_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en")
    assert form.status_code == 200
    page = form.content.decode()
    assert "Files cannot be redacted" in page and 'value="pdf"' in page
    assert re.search(r'value="pdf"[^>]*checked', page)

    response = lead.post(export_url(world_a, case), {"redactions": REDACTIONS, "format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "no-store" in response["Cache-Control"]
    pdf = download(response)
    text = re.sub(r"\s+", " ", pdf_text(pdf))
    for kept in (KEPT, "SENTINEL-note-kept-1618", "SENTINEL-message-kept-5772", "Bauamt"):
        assert kept in text  # the extraction works, and what was not listed is all there
    assert "-ledger.txt" in text  # the file is listed, its name redacted
    for gone in (SECRET, NAME, "Lovelace"):
        assert_not_in_pdf(pdf, gone)
    assert BLOCK * len(SECRET) in text and BLOCK * len("Lovelace") in text
    # Markup typed into a note is shown as typed: escaped exactly once, never interpreted.
    assert "Call <b>Ada</b> & " in text and "&amp;" not in text and "&lt;" not in text
    # Exporting is not reading: the reporter's message is still unread by the office.
    assert Message.objects.filter(case=case, side=Message.Side.REPORTER, read=False).exists()
    assert exports_of(case) == 1

    response = lead.post(export_url(world_a, case), {"redactions": REDACTIONS, "format": "zip"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    with zipfile.ZipFile(io.BytesIO(download(response))) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == ["case.pdf", f"files/01_{BLOCK * len('Lovelace')}-ledger.txt"]
        assert archive.read(names[1]) == FILE_BYTES  # decrypted, not redacted
        zipped_pdf = archive.read("case.pdf")
    assert KEPT in pdf_text(zipped_pdf)
    assert_not_in_pdf(zipped_pdf, SECRET)
    assert exports_of(case) == 2
    event = AuditEvent.objects.filter(verb="case.exported").latest("sequence")
    assert event.actor == world_a.handler and event.object_id == str(case.public_id)


def test_without_redactions_everything_is_there_and_bad_phrases_are_refused(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    lead, case = case_with_everything(world_a, sensitive)
    response = lead.post(
        export_url(world_a, case), {"redactions": "", "format": "pdf"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    text = re.sub(r"\s+", " ", pdf_text(download(response)))
    assert SECRET in text and "Ada Lovelace" in text and BLOCK not in text
    assert "Nothing was blacked out" in text and "Audit trail" in text
    assert "Handler" in text and "added a note" in text and "confirmed receipt" in text
    for bad in ("x", "y" * 201, "\n".join(f"phrase {i}" for i in range(101))):
        response = lead.post(
            export_url(world_a, case),
            {"redactions": bad, "format": "pdf"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
        assert "Please check your entry" in response.content.decode()
    response = lead.post(export_url(world_a, case), {"redactions": "Ada", "format": "tar"})
    assert response["Content-Type"].startswith("text/html")
    assert exports_of(case) == 1


def test_only_members_with_access_can_export(
    worlds: tuple[World, World], sensitive: SensitiveRegistry
) -> None:
    a, b = worlds
    lead, case = case_with_everything(a, sensitive)
    url = export_url(a, case)
    other_office = office_create(owner=a.tenant, name="Second office")
    neighbour = make_staff("neighbour@alpha.example")
    membership_add(office=other_office, user=neighbour)
    recusing, excluded, keyless = (
        make_staff(f"{who}@alpha.example") for who in ("recusing", "excluded", "keyless")
    )
    for person in (recusing, excluded, keyless):
        membership_add(office=a.office, user=person)
        staff_client(person)  # first login creates the handler key
    for person in (recusing, excluded):
        lead.post(f"/staff/offices/{a.office.public_id}/keys/grant/{person.public_id}/")
    recusing_client, excluded_client = staff_client(recusing), staff_client(excluded)
    assert recusing_client.get(url).status_code == 200  # before stepping back
    assert recusing_client.post(case_url(a, case, "do/recuse/")).status_code == 302
    lead.post(case_url(a, case, "do/exclude/"), {"user": str(excluded.public_id)})
    before = exports_of(case)
    other_tenant = staff_client(b.handler)
    outsiders = [
        other_tenant,  # another tenant's office
        staff_client(a.admin),  # the tenant's admin, not a member
        staff_client(neighbour),  # another office of the same tenant
        recusing_client,
        excluded_client,
    ]
    for client in outsiders:
        assert client.get(url).status_code == 404
        assert client.post(url, {"redactions": "", "format": "zip"}).status_code == 404
    # With someone else's office and the right case, or the right office and a made-up case.
    assert other_tenant.get(case_url(b, case, "export/")).status_code == 404
    made_up = export_url(a, case).replace(str(case.public_id), str(a.office.public_id))
    assert lead.get(made_up).status_code == 404
    keyless_response = staff_client(keyless).post(url, {"redactions": "", "format": "pdf"})
    assert keyless_response.status_code == 403  # a member, but not granted the office key
    assert Client().get(url).status_code == 302  # to the login page
    assert exports_of(case) == before


# --- the redaction itself -------------------------------------------------------------------


def test_redactor_escapes_and_matches_case_insensitively_across_whitespace() -> None:
    redactor = Redactor(["<Ada> & Co", "jane doe", "Jane", "  ", "straße"])
    html = redactor.html("Mail from <ADA> &  co\nabout JANE\tDoe and jane; STRASSE or Straße <i>")
    assert html == (
        "Mail from "
        + f'<span class="redacted">{BLOCK * 11}</span>'
        + "\nabout "
        + f'<span class="redacted">{BLOCK * 8}</span>'
        + f' and <span class="redacted">{BLOCK * 4}</span>;'
        + f' <span class="redacted">{BLOCK * 7}</span>'
        + f' or <span class="redacted">{BLOCK * 6}</span> &lt;i&gt;'
    )  # full case folding: "straße" also finds "STRASSE"
    # Invisible characters and decomposed letters do not hide a name.
    assert redactor.plain("Ja\u200bne and J\u0061\u0308ne") == f"{BLOCK * 4} and Jäne"
    assert Redactor(["Müller"]).plain("MU\u0308LLER") == BLOCK * 6
    assert Redactor([]).html("<b>") == escape("<b>")


def test_document_pass_redacts_text_not_markup() -> None:
    redactor = Redactor(["red", "Status"])
    document = (
        "<!DOCTYPE html><html><head><title>Red status</title>"
        "<style>.redacted { color: red }</style></head>"
        '<body><p class="redacted">Status: &lt;red&gt;<br>ok</p><!-- red --></body></html>'
    )
    out = redactor.document(document)
    assert "<title>███ ██████</title>" in out
    assert "<style>.redacted { color: red }</style>" in out  # CSS is left alone
    assert '<p class="redacted">' in out  # attributes are copied unchanged
    assert (
        '<span class="redacted">██████</span>: &lt;<span class="redacted">███</span>&gt;<br>ok'
    ) in out
    assert "<!--" not in out


def test_weasyprint_fetches_nothing(tmp_path: Path) -> None:
    css = tmp_path / "leak.css"
    css.write_text('p::after { content: "FETCHED-7f3a" }')
    image = tmp_path / "x.svg"
    image.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>FETCHED-IMG</text></svg>')
    html = (
        f'<html lang="en"><head><link rel="stylesheet" href="{css.as_uri()}"></head>'
        f'<body><p>visible</p><img src="{image.as_uri()}" alt=""></body></html>'
    )
    pdf = html_to_pdf(html)
    text = pdf_text(pdf).replace("\n", "")  # an SVG's text comes one glyph per line
    assert "visible" in text
    assert "FETCHED" not in text and "FETCHED" not in pdf_raw(pdf)
