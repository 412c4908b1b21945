"""The case file as a PDF (DOC-1), optionally zipped with the case's files, with redaction (CF-3).

The PDF holds the case's facts and deadlines, the report as filed, the list of files with their
cleaning notes, the conversation, the internal notes and the audit trail. It never holds the
reporter's contact details (CF-2: those are shown only on an explicit, logged reveal).

Redaction happens *before* rendering: every case-insensitive occurrence of a phrase the handler
entered is replaced by a black box of ``█`` characters, so the phrase is not in the PDF at all
(not hidden under a rectangle). Two passes, both through :class:`Redactor`:

1. every piece of case text (answers, messages, notes, file names and notes, names, the
   organisation …) is redacted while it is still plain text, so a phrase broken over two
   lines ("Jane\\nDoe") is still found, and escaped in the same step;
2. the rendered HTML document is then redacted once more, text node by text node, which also
   covers the interface's own words, dates formatted by the template and the document title.

Files inside the ZIP are the decrypted originals (after the metadata cleaning done at upload)
and **cannot** be redacted; their names in the archive are.

Nothing here writes plaintext to disk: the PDF is built in memory, the ZIP is written into a
:class:`crypto.EncryptedSpool`, and weasyprint may not fetch any URL.
"""

from __future__ import annotations

import datetime
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, NoReturn

import weasyprint  # type: ignore[import-untyped]
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from PIL import ImageFile

import crypto
from casework import case_logs
from casework.audit import audit_record, events_for_case
from casework.audit_labels import verb_label
from casework.services import notes_for
from chat.models import Message
from intake import services as intake_services
from intake.attachments import attachment_open
from intake.models import Attachment, Case, tenant_today
from intake.questionnaire import localised, render_answers
from whistle.accounts.models import User

# weasyprint switches Pillow to accepting truncated images, process-wide, when imported. Our
# upload cleaner relies on Pillow refusing damaged files (a half image must be reported, not
# silently completed), and the export renders no images at all: switch it back.
ImageFile.LOAD_TRUNCATED_IMAGES = False

#: What a redacted character becomes (U+2588 FULL BLOCK).
BLOCK = "\u2588"
MIN_PHRASE_LENGTH = 2
MAX_PHRASE_LENGTH = 200
MAX_PHRASES = 100
PDF_NAME = "case.pdf"
FILES_FOLDER = "files"


# --- redaction ------------------------------------------------------------------------------


def normalise_text(text: str) -> str:
    """NFC, without invisible format characters (zero-width spaces, soft hyphens …).

    Without this, "Jo\\u200bhn" or a decomposed "Müller" would slip past a phrase that looks
    the same on paper. The characters removed are invisible, so the record reads the same.
    """
    composed = unicodedata.normalize("NFC", text)
    return "".join(c for c in composed if unicodedata.category(c) != "Cf")


def clean_phrases(lines: Iterable[str]) -> list[str]:
    """The distinct non-empty phrases (normalised, inner whitespace collapsed), longest first."""
    phrases = {" ".join(normalise_text(line).split()) for line in lines}
    phrases.discard("")
    return sorted(phrases, key=lambda p: (-len(p), p.casefold()))


def _phrase_pattern(phrase: str) -> str:
    # Any run of whitespace (a line break, two spaces, a tab) matches a space in the phrase.
    return r"\s+".join(re.escape(word) for word in phrase.split())


class Redactor:
    """Replaces every case-insensitive occurrence of the phrases by a block of ``█``.

    Matching uses full Unicode case folding, so "Weiß" also finds "WEISS" and "weiss". The
    block has one ``█`` per character of the matched text, so the layout keeps its shape; in
    HTML it is a ``<span class="redacted">`` styled black on black.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        self.phrases = tuple(clean_phrases(phrases))
        folded = sorted({p.casefold() for p in self.phrases}, key=len, reverse=True)
        self._pattern = re.compile("|".join(_phrase_pattern(p) for p in folded)) if folded else None

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) in ``text`` of every occurrence, merged where they touch a character."""
        if self._pattern is None:
            return []
        # Folding can lengthen a character ("ß" → "ss"): remember where each folded one came from.
        origin = [i for i, c in enumerate(text) for _ in c.casefold()]
        spans: list[tuple[int, int]] = []
        for match in self._pattern.finditer("".join(c.casefold() for c in text)):
            start, end = origin[match.start()], origin[match.end() - 1] + 1
            if spans and start < spans[-1][1]:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        return spans

    def plain(self, text: str) -> str:
        """``text`` with every occurrence replaced by ``█`` characters (no markup)."""
        text = normalise_text(text)
        parts, position = [], 0
        for start, end in self._spans(text):
            parts += [text[position:start], BLOCK * (end - start)]
            position = end
        parts.append(text[position:])
        return "".join(parts)

    def html(self, text: object) -> SafeString:
        """``text`` escaped for HTML, every occurrence replaced by a black box."""
        text = normalise_text(str(text))
        parts, position = [], 0
        for start, end in self._spans(text):
            parts.append(escape(text[position:start]))
            parts.append(format_html('<span class="redacted">{}</span>', BLOCK * (end - start)))
            position = end
        parts.append(escape(text[position:]))
        return mark_safe("".join(parts))  # noqa: S308 - every part was escaped above

    def document(self, html: str) -> str:
        """Redact every text node of a rendered HTML document (second pass)."""
        if self._pattern is None:
            return html
        parser = _DocumentRedactor(self)
        parser.feed(html)
        parser.close()
        return "".join(parser.out)


class _DocumentRedactor(HTMLParser):
    """Copies markup as it is and redacts text. Case text must never sit in an attribute in
    the export templates: attributes are copied unchanged (class names must stay intact)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__(convert_charrefs=True)
        self.redactor = redactor
        self.out: list[str] = []
        self._raw = 0  # inside <style>/<script>: CSS is not text
        self._title = 0  # inside <title>: text only, no markup

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self.get_starttag_text() or "")
        self._raw += tag in ("style", "script")
        self._title += tag == "title"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")
        if tag in ("style", "script"):
            self._raw = max(0, self._raw - 1)
        if tag == "title":
            self._title = max(0, self._title - 1)

    def handle_data(self, data: str) -> None:
        if self._raw:
            self.out.append(data)
        elif self._title:
            self.out.append(escape(self.redactor.plain(data)))
        else:
            self.out.append(self.redactor.html(data))

    def handle_comment(self, data: str) -> None:
        """Comments are dropped: nothing invisible goes into the document."""

    def handle_pi(self, data: str) -> None:
        """Processing instructions are dropped."""

    def unknown_decl(self, data: str) -> None:
        """CDATA and the like are dropped."""


# --- what the PDF shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    """One file of the case, numbered as in the ZIP."""

    number: int
    attachment: Attachment
    name: SafeString
    archive_name: str
    from_reporter: bool
    size: int
    cleaned: bool
    removed: list[SafeString]
    remaining: list[SafeString]
    problem: SafeString | None


@dataclass(frozen=True)
class ExportMessage:
    author: SafeString
    date: datetime.date
    body: SafeString
    files: list[ExportFile]


@dataclass(frozen=True)
class ExportNote:
    author: SafeString
    date: datetime.date
    body: SafeString


@dataclass(frozen=True)
class ExportEvent:
    at: datetime.datetime
    actor: SafeString
    verb: str


@dataclass(frozen=True)
class ExportAnswerStep:
    title: SafeString
    rows: list[tuple[SafeString, SafeString]]


@dataclass(frozen=True)
class CaseFile:
    """Everything the PDF shows, already redacted, and the files for the ZIP."""

    files: list[ExportFile]
    context: dict[str, Any]


def _archive_name(number: int, name: str) -> str:
    # Names were reduced to a base name at upload; never let one climb out of the folder.
    safe = name.replace("/", "_").replace("\\", "_").lstrip(".") or "file"
    return f"{FILES_FOLDER}/{number:02d}_{safe}"


def _files(case: Case, case_key: bytes, r: Redactor) -> list[ExportFile]:
    views = intake_services.case_attachments(case=case, case_key=case_key)
    files = []
    for number, view in enumerate(views, start=1):
        meta = view.meta
        problem = meta.get("problem")
        files.append(
            ExportFile(
                number=number,
                attachment=view.attachment,
                name=r.html(meta.get("name", "")),
                archive_name=_archive_name(number, r.plain(str(meta.get("name", "")))),
                from_reporter=view.attachment.side == Attachment.Side.REPORTER,
                size=int(meta.get("size", 0)),
                cleaned=bool(meta.get("cleaned")),
                removed=[r.html(x) for x in meta.get("removed") or []],
                remaining=[r.html(x) for x in meta.get("remaining") or []],
                problem=r.html(problem) if problem else None,
            )
        )
    return files


def _conversation(
    case: Case, case_key: bytes, files: Sequence[ExportFile], r: Redactor
) -> list[ExportMessage]:
    """The messages, decrypted without marking any as read (exporting is not reading them)."""
    by_pk = {f.attachment.pk: f for f in files}
    out = []
    messages = Message.objects.filter(case=case).select_related("author")
    for message in messages.prefetch_related("attachments").order_by("id"):
        body = crypto.decrypt_record(
            case_key,
            bytes(message.body_ciphertext),
            context=intake_services.record_context(case, "message", message.public_id),
        ).decode("utf-8")
        from_reporter = message.side == Message.Side.REPORTER
        author = _("Reporter") if from_reporter else _author(message.author)
        out.append(
            ExportMessage(
                author=r.html(author),
                date=message.created_on,
                body=r.html(body),
                files=[by_pk[a.pk] for a in message.attachments.all() if a.pk in by_pk],
            )
        )
    return out


def _author(user: User | None) -> str:
    return user.display_name if user is not None else _("Office")


def _answers(case: Case, case_key: bytes, r: Redactor) -> list[ExportAnswerStep]:
    if case.questionnaire is None:
        return []
    definition = intake_services.definition_of(case.questionnaire)
    steps = render_answers(definition, intake_services.case_answers(case=case, case_key=case_key))
    return [
        ExportAnswerStep(
            title=r.html(step.title),
            rows=[(r.html(row.question), r.html(row.value)) for row in step.rows],
        )
        for step in steps
    ]


def _topic(case: Case) -> str:
    if case.questionnaire is None:
        return case.category
    category = intake_services.definition_of(case.questionnaire).category(case.category)
    return localised(category.label) if category else case.category


def _facts(case: Case, r: Redactor) -> dict[str, Any]:
    return {
        "organisation": r.html(case.tenant.name),
        "office_name": r.html(case.office.name),
        "topic": r.html(_topic(case)),
        "channel": r.html(case.get_channel_display()),
        "status": r.html(case.get_status_display()),
        "outcome": r.html(case.get_outcome_display()) if case.outcome else None,
        "assignee": r.html(case.assignee.display_name) if case.assignee else None,
        "deputy": r.html(case.deputy.display_name) if case.deputy else None,
    }


def _events(case: Case, r: Redactor) -> list[ExportEvent]:
    return [
        ExportEvent(at=e.at, actor=r.html(e.actor_label), verb=verb_label(e.verb))
        for e in events_for_case(case).select_related("actor")
    ]


def case_file(*, case: Case, case_key: bytes, actor: User, redactor: Redactor) -> CaseFile:
    """Collect and decrypt everything the PDF shows, redacting as it goes."""
    files = _files(case, case_key, redactor)
    notes = [
        ExportNote(
            author=redactor.html(_author(n.note.author)),
            date=n.note.created_on,
            body=redactor.html(n.body),
        )
        for n in notes_for(case=case, case_key=case_key)
    ]
    context = {
        "case": case,
        **_facts(case, redactor),
        "language": get_language() or "de",
        "today": tenant_today(case.tenant),
        "exported_at": timezone.now(),
        "exported_by": redactor.html(actor.display_name),
        "redaction_count": len(redactor.phrases),
        "answers": _answers(case, case_key, redactor),
        "files": files,
        "conversation": _conversation(case, case_key, files, redactor),
        "notes": notes,
        "audit": _events(case, redactor),
        "disclosures": case_logs.disclosure_log(case, case_key, redactor),
        "handovers": case_logs.handover_log(case, case_key, redactor),
    }
    return CaseFile(files=files, context=context)


# --- rendering ------------------------------------------------------------------------------


class _RefuseEveryURL:
    """A weasyprint URL fetcher that fetches nothing: the document is self-contained, and a
    server that renders case content must not be made to reach out (SSRF, file://)."""

    # Read by weasyprint ≥ 68: False turns a refusal into a logged warning and the resource is
    # left out, instead of a BaseException that would escape Django's error handling.
    _fail_on_errors = False

    def __call__(self, url: str, *args: object, **kwargs: object) -> NoReturn:
        raise ValueError("the case export loads no external resources")


def html_to_pdf(html: str) -> bytes:
    """A self-contained HTML document as PDF; weasyprint fetches nothing."""
    options: dict[str, Any] = {}
    if "pdf_tags" in weasyprint.DEFAULT_OPTIONS:
        options["pdf_tags"] = True  # a tagged PDF: headings and lists for screen readers
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_RefuseEveryURL())
    pdf: bytes = document.write_pdf(**options)
    return pdf


def render_pdf(case_file: CaseFile, redactor: Redactor, *, with_files: bool) -> bytes:
    """The PDF of a collected case file (no audit event: see :func:`case_export_pdf`)."""
    html = render_to_string(
        "casework/export_pdf.html", {**case_file.context, "with_files": with_files}
    )
    return html_to_pdf(redactor.document(html))


def _audit_export(case: Case, actor: User) -> None:
    audit_record(
        tenant=case.tenant,
        actor=actor,
        verb="case.exported",
        object_type="case",
        object_id=str(case.public_id),
        case=case,
    )


def case_export_pdf(*, case: Case, case_key: bytes, actor: User, redactions: list[str]) -> bytes:
    """The case file as a PDF with every phrase in ``redactions`` blacked out; audited."""
    redactor = Redactor(redactions)
    collected = case_file(case=case, case_key=case_key, actor=actor, redactor=redactor)
    pdf = render_pdf(collected, redactor, with_files=False)
    _audit_export(case, actor)
    return pdf


class _NoSeek(io.RawIOBase):
    """Write-only view of a spool that zipfile cannot seek in.

    zipfile seeks back to patch each local header when it can; a spool ends its write phase
    at the first seek. Told it cannot, zipfile writes data descriptors after each member.
    """

    def __init__(self, target: io.BufferedIOBase) -> None:
        super().__init__()
        self._target = target

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return self._target.write(b)

    def tell(self) -> int:
        return self._target.tell()

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        raise io.UnsupportedOperation("not seekable")

    def flush(self) -> None:
        """Nothing to flush: the spool seals full chunks as they come."""


def _zip_info(name: str, date: datetime.date) -> zipfile.ZipInfo:
    # Only the date, as everywhere else in a case (DESIGN §5).
    info = zipfile.ZipInfo(name, date_time=(date.year, date.month, date.day, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _write_zip(
    target: io.BufferedIOBase, case: Case, case_key: bytes, pdf: bytes, files: list[ExportFile]
) -> None:
    today = tenant_today(case.tenant)
    with zipfile.ZipFile(_NoSeek(target), "w") as archive:
        archive.writestr(_zip_info(PDF_NAME, today), pdf)
        for file in files:
            chunks = attachment_open(
                case_key=case_key,
                tenant_id=str(case.tenant.public_id),
                case_id=str(case.public_id),
                attachment_id=str(file.attachment.public_id),
                storage_name=file.attachment.storage_name,
            )
            with archive.open(_zip_info(file.archive_name, today), "w", force_zip64=True) as out:
                for chunk in chunks:
                    out.write(chunk)


def case_export_zip(
    *, case: Case, case_key: bytes, actor: User, redactions: list[str]
) -> crypto.EncryptedSpool:
    """A ZIP of the redacted PDF (``case.pdf``) and the decrypted files (``files/NN_name``,
    names redacted, contents not); audited.

    Returned as an :class:`crypto.EncryptedSpool` positioned at its start: the plaintext
    archive exists only encrypted under a key held by that object. The caller streams it and
    closes it (``FileResponse`` does both).
    """
    redactor = Redactor(redactions)
    collected = case_file(case=case, case_key=case_key, actor=actor, redactor=redactor)
    pdf = render_pdf(collected, redactor, with_files=True)
    spool = crypto.EncryptedSpool()
    try:
        _write_zip(spool, case, case_key, pdf, collected.files)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    _audit_export(case, actor)
    return spool
