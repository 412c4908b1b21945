"""Statistics over cases without de-anonymising anyone (REP-1).

Pure query functions: they read only routing fields and dates, never a record, a key or any
content, and nothing finer than a month leaves them (DESIGN §5). Every count goes through
:class:`Cell`, which applies small-count suppression when it is made and keeps no number it
suppressed, so no template, chart or CSV can print one.

Suppression rules (see :func:`suppress`):

- a count of 1 or 2 is *primary* suppressed and shown as "< 3"; 0 and counts ≥ 3 are shown;
- a total printed beside a dimension adds up only the numbers shown;
- assuming a reader knows the true total (another dimension without suppression shows it), the
  suppressed cells of a dimension must not reveal a primary cell by subtraction. While they
  would (one suppressed cell alone, or e.g. two cells adding up to 4, which must both be 2), the
  smallest non-zero cell still shown is *secondary* suppressed too, shown as "withheld";
- shares and medians are shown only when based on at least 3 cases, otherwise a dash.

Scope: every figure is about the cases *received* in the period (a calendar year, or the last
12 months); outcomes are those of these cases that are closed. Only *complete* months count, and
everything is "as of" the end of the last complete month (``Stats.as_of``): receipts, closures,
acknowledgements and passed deadlines of the current month are left out until it ends. Figures
therefore change once a month, and someone who looks every day cannot learn the day a report
arrived or a deadline passed from what changed since yesterday.

Reports set apart as suspected flood (``Case.flood``, casework.flood) are left out of every
figure, so that a flood of junk neither inflates the counts nor drags down the on-time shares;
how many of the period's reports are set apart is one count of its own (``Stats.set_apart``,
suppressed like any other). A report put back into the inbox counts like any other from then
on; a discarded one is deleted and counted nowhere.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dateutil.relativedelta import relativedelta
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from intake import deadlines
from intake.models import Case, Questionnaire, tenant_today
from intake.questionnaire import QuestionnaireError, localised, parse
from whistle.tenants.models import Office, Tenant

#: Counts from 1 to this are never shown.
SUPPRESS_BELOW = 3
#: Shares and medians need at least this many cases.
MIN_BASIS = 3


# --- cells --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """A count as it may be shown: ``value`` is None when suppressed.

    A suppressed cell does not hold its number at all, and a cell cannot be made with a shown
    value of 1 or 2: whatever prints a cell can only print what may be seen.
    """

    value: int | None
    #: Withheld only so that another, small cell cannot be worked out (its value may be large).
    secondary: bool = False

    def __post_init__(self) -> None:
        if self.value is not None and (self.value < 0 or 0 < self.value < SUPPRESS_BELOW):
            raise ValueError("a count from 1 to 2 cannot be shown")
        if self.secondary and self.value is not None:
            raise ValueError("a withheld cell holds no value")

    @classmethod
    def of(cls, count: int) -> Cell:
        """The cell for a raw count, with primary suppression applied."""
        return cls(None) if 0 < count < SUPPRESS_BELOW else cls(count)

    @property
    def suppressed(self) -> bool:
        return self.value is None

    @property
    def csv(self) -> str:
        """Machine-readable: the number, ``<3``, or ``x`` for a withheld cell."""
        if self.value is None:
            return "x" if self.secondary else f"<{SUPPRESS_BELOW}"
        return str(self.value)

    def __str__(self) -> str:
        if self.value is None:
            return _("withheld") if self.secondary else f"< {SUPPRESS_BELOW}"
        return formats.number_format(self.value, force_grouping=True)


def _determined(primary: int, secondary: int, cap: int | None, hidden: int) -> bool:
    """Whether a reader who knows the sum ``hidden`` of the suppressed cells could tell the value
    of one primary cell: the other primary cells are each 1 or 2, the secondary ones from 3 to
    ``cap`` (they are the smallest non-zero cells, so none exceeds the smallest still shown)."""
    if primary == 0:
        return False
    low = (primary - 1) * 1 + secondary * SUPPRESS_BELOW
    high = (primary - 1) * (SUPPRESS_BELOW - 1) + (secondary * cap if cap is not None else hidden)
    possible = [x for x in range(1, SUPPRESS_BELOW) if low <= hidden - x <= high]
    return len(possible) < 2


def suppress(counts: Mapping[str, int]) -> dict[str, Cell]:
    """Cells for the raw counts of one dimension, with primary and secondary suppression."""
    primary = {k for k, n in counts.items() if 0 < n < SUPPRESS_BELOW}
    secondary: set[str] = set()
    while True:
        shown = sorted(
            (n, i, k)
            for i, (k, n) in enumerate(counts.items())
            if n > 0 and k not in primary and k not in secondary
        )
        hidden = sum(counts[k] for k in primary | secondary)
        cap = shown[0][0] if shown else None
        if not shown or not _determined(len(primary), len(secondary), cap, hidden):
            break
        secondary.add(shown[0][2])
    return {
        k: Cell(None, secondary=True) if k in secondary else Cell.of(n) for k, n in counts.items()
    }


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    cell: Cell


@dataclass(frozen=True, slots=True)
class Dimension:
    """One breakdown of the period's cases (by month, category, channel or outcome)."""

    key: str
    title: str
    column: str
    rows: tuple[Row, ...]

    @property
    def total(self) -> Cell:
        """The sum of the numbers shown: suppressed cells are left out, so they cannot be
        recomputed from it."""
        return Cell(sum(r.cell.value or 0 for r in self.rows))

    @property
    def has_suppressed(self) -> bool:
        return any(r.cell.suppressed for r in self.rows)

    @property
    def chart_rows(self) -> list[tuple[str, Cell]]:
        return [(r.label, r.cell) for r in self.rows]


@dataclass(frozen=True, slots=True)
class Measure:
    """A share (percent) or a median (days), shown only when based on ≥ 3 cases."""

    key: str
    label: str
    unit: Literal["percent", "days"]
    value: float | None
    basis: Cell

    @classmethod
    def of(
        cls, key: str, label: str, unit: Literal["percent", "days"], values: list[float]
    ) -> Measure:
        value: float | None = None
        if len(values) >= MIN_BASIS:
            value = float(
                100 * statistics.fmean(values) if unit == "percent" else statistics.median(values)
            )
        return cls(key, label, unit, value, Cell.of(len(values)))

    @property
    def csv(self) -> str:
        return "" if self.value is None else f"{self.value:.1f}"

    def __str__(self) -> str:
        if self.value is None:
            return "\u2013"  # en dash: not shown
        if self.unit == "percent":
            return f"{formats.number_format(round(self.value))} %"
        number = formats.number_format(self.value, decimal_pos=0 if self.value.is_integer() else 1)
        return _("%(days)s days") % {"days": number}


@dataclass(frozen=True, slots=True)
class Stats:
    """What the statistics page and its CSV show for one office or tenant and one period."""

    start: datetime.date
    #: The last day counted; before ``start`` when the year has no complete month yet.
    end: datetime.date
    year: int | None
    #: The end of the last complete month: no later event is counted.
    as_of: datetime.date
    months: Dimension
    categories: Dimension
    channels: Dimension
    outcomes: Dimension
    acknowledged_on_time: Measure
    feedback_on_time: Measure
    days_to_acknowledgement: Measure
    days_to_feedback: Measure
    days_to_closure: Measure
    #: The period's reports set apart as suspected flood, left out of every other figure.
    set_apart: Cell

    @property
    def dimensions(self) -> tuple[Dimension, ...]:
        return (self.months, self.categories, self.channels, self.outcomes)

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (
            self.acknowledged_on_time,
            self.feedback_on_time,
            self.days_to_acknowledgement,
            self.days_to_feedback,
            self.days_to_closure,
        )


# --- queries ------------------------------------------------------------------------------------


def office_stats(
    *, office: Office, year: int | None = None, today: datetime.date | None = None
) -> Stats:
    """Statistics of the cases an office received, for every tenant it serves.

    ``today`` (in the owner's time zone by default) decides which months are complete.
    """
    today = today or tenant_today(office.owner)
    return _stats(Case.objects.filter(office=office), year=year, today=today)


def tenant_stats(
    *, tenant: Tenant, year: int | None = None, today: datetime.date | None = None
) -> Stats:
    """Statistics of a tenant's cases across all offices that handle them."""
    today = today or tenant_today(tenant)
    return _stats(Case.objects.filter(tenant=tenant), year=year, today=today)


def period(year: int | None, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """First and last day counted: a calendar year, or the 12 months before the current one;
    either way only up to the end of the last complete month."""
    last = today.replace(day=1) - datetime.timedelta(days=1)
    if year is None:
        return last.replace(day=1) - relativedelta(months=11), last
    return datetime.date(year, 1, 1), min(datetime.date(year, 12, 31), last)


def _stats(cases: QuerySet[Case], *, year: int | None, today: datetime.date) -> Stats:
    start, end = period(year, today)
    as_of = today.replace(day=1) - datetime.timedelta(days=1)
    cases = cases.filter(received_on__gte=start, received_on__lte=end)
    set_apart = cases.exclude(flood=Case.Flood.NONE).count()
    cases = cases.filter(flood=Case.Flood.NONE)
    return Stats(
        start=start,
        end=end,
        year=year,
        as_of=as_of,
        months=_months(cases, start, end),
        categories=_categories(cases),
        channels=_choices(
            cases, "channel", Case.Channel.choices, key="channel", title=_("Reports by channel")
        ),
        outcomes=_choices(
            cases.filter(closed_on__lte=as_of),
            "outcome",
            [*Case.Outcome.choices, ("", _("Not recorded"))],
            key="outcome",
            title=_("Closed reports by outcome"),
        ),
        **_timeliness(cases, as_of),
        set_apart=Cell.of(set_apart),
    )


def _months(cases: QuerySet[Case], start: datetime.date, end: datetime.date) -> Dimension:
    counted = {
        row["month"]: row["n"]
        for row in cases.annotate(month=TruncMonth("received_on"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    }
    months = [start + relativedelta(months=i) for i in range(12)]
    months = [m for m in months if m <= end]
    cells = suppress({m.strftime("%Y-%m"): counted.get(m, 0) for m in months})
    rows = tuple(
        Row(
            m.strftime("%Y-%m"),
            formats.date_format(m, "YEAR_MONTH_FORMAT"),
            cells[m.strftime("%Y-%m")],
        )
        for m in months
    )
    return Dimension("month", _("Reports by month of receipt"), _("Month"), rows)


def _categories(cases: QuerySet[Case]) -> Dimension:
    counts: dict[str, int] = {}
    versions: set[int] = set()
    for row in cases.values("category", "questionnaire_id").annotate(n=Count("id")).order_by():
        counts[row["category"]] = counts.get(row["category"], 0) + row["n"]
        if row["questionnaire_id"] is not None:
            versions.add(row["questionnaire_id"])
    labels = _category_labels(versions)
    for category_id in counts:
        labels.setdefault(category_id, category_id or _("No topic given"))
    cells = suppress(dict(sorted(counts.items(), key=lambda kv: labels[kv[0]].casefold())))
    rows = tuple(Row(k or "-", labels[k], cell) for k, cell in cells.items())
    return Dimension("category", _("Reports by topic"), _("Topic"), rows)


def _category_labels(questionnaire_ids: Iterable[int]) -> dict[str, str]:
    """Category labels in the active language; a newer questionnaire version's label wins."""
    labels: dict[str, str] = {}
    ids = list(questionnaire_ids)
    if not ids:
        return labels
    for questionnaire in Questionnaire.objects.filter(pk__in=ids).order_by("tenant_id", "version"):
        try:
            definition = parse(questionnaire.definition)
        except QuestionnaireError:
            continue
        labels.update({c.id: localised(c.label) for c in definition.categories})
    return labels


def _choices(
    cases: QuerySet[Case],
    field: str,
    choices: Iterable[tuple[str, Any]],
    *,
    key: str,
    title: str,
) -> Dimension:
    counted = {
        row[field]: row["n"] for row in cases.values(field).annotate(n=Count("id")).order_by()
    }
    labels = {value: str(label) for value, label in choices}
    for value in counted:
        labels.setdefault(value, value)
    cells = suppress({value: counted.get(value, 0) for value in labels})
    column = _("Channel") if key == "channel" else _("Outcome")
    rows = tuple(Row(value or "-", labels[value], cell) for value, cell in cells.items())
    return Dimension(key, title, column, rows)


@dataclass(frozen=True, slots=True)
class _Dates:
    """What the deadline properties of :class:`Case` read, for one case."""

    received_on: datetime.date
    acknowledged_on: datetime.date | None
    feedback_given_on: datetime.date | None
    closed_on: datetime.date | None
    feedback_extended_until: datetime.date | None


def _by(day: datetime.date | None, as_of: datetime.date) -> datetime.date | None:
    return day if day is not None and day <= as_of else None


def _timeliness(cases: QuerySet[Case], as_of: datetime.date) -> dict[str, Measure]:
    """On-time shares and medians, from the dates alone, as they stood at the end of ``as_of``.

    One query fetches five dates per case (fine up to ~100k cases per period); the rest is
    Python because medians need every value and the deadlines use calendar months. A deadline
    counts once it is met or has passed; cases still inside it are left out.
    """
    labels = {
        "acknowledged_on_time": _("Receipt confirmed within 7 days (share)"),
        "feedback_on_time": _("Feedback given within 3 months or the extended deadline (share)"),
        "days_to_acknowledgement": _("Median time from receipt to confirmation of receipt"),
        "days_to_feedback": _("Median time from confirmation of receipt (or receipt) to feedback"),
        "days_to_closure": _("Median time from receipt to closure"),
    }
    found: dict[str, list[float]] = {key: [] for key in labels}
    fields = ("received_on", "acknowledged_on", "feedback_given_on", "closed_on")
    for values in cases.values_list(*fields, "feedback_extended_until").order_by():
        received, acknowledged, feedback, closed, extended = values
        d = _Dates(
            received, _by(acknowledged, as_of), _by(feedback, as_of), _by(closed, as_of), extended
        )
        # The deadline rules of the inbox and the reminders (intake.deadlines).
        ack_due = deadlines.acknowledge_due(d.received_on)
        feedback_due = deadlines.feedback_due(
            received_on=d.received_on,
            acknowledged_on=d.acknowledged_on,
            extended_until=d.feedback_extended_until,
        )
        if d.acknowledged_on is not None or ack_due <= as_of:
            on_time = d.acknowledged_on is not None and d.acknowledged_on <= ack_due
            found["acknowledged_on_time"].append(float(on_time))
        if d.feedback_given_on is not None or feedback_due <= as_of:
            on_time = d.feedback_given_on is not None and d.feedback_given_on <= feedback_due
            found["feedback_on_time"].append(float(on_time))
        if d.acknowledged_on is not None:
            found["days_to_acknowledgement"].append((d.acknowledged_on - d.received_on).days)
        if d.feedback_given_on is not None:
            since = d.acknowledged_on or d.received_on
            found["days_to_feedback"].append((d.feedback_given_on - since).days)
        if d.closed_on is not None:
            found["days_to_closure"].append((d.closed_on - d.received_on).days)
    return {
        key: Measure.of(key, label, "percent" if key.endswith("on_time") else "days", found[key])
        for key, label in labels.items()
    }


# --- CSV ----------------------------------------------------------------------------------------


def _csv_text(value: str) -> str:
    """Defuse spreadsheet formulas in labels that tenants wrote (questionnaire categories)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") and value != "-" else value


def stats_csv(stats: Stats) -> str:
    """The statistics as CSV rows ``dimension, key, label, value``.

    Suppressed counts are ``<3`` (or ``x`` when withheld to protect another count); shares and
    medians based on fewer than 3 cases are empty, their basis is a count like any other.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["dimension", "key", "label", "value"])
    writer.writerow(["period", "start", _("First day"), stats.start.isoformat()])
    writer.writerow(["period", "end", _("Last day"), stats.end.isoformat()])
    writer.writerow(["period", "as_of", _("Events counted up to"), stats.as_of.isoformat()])
    for dimension in stats.dimensions:
        for row in dimension.rows:
            writer.writerow([dimension.key, _csv_text(row.key), _csv_text(row.label), row.cell.csv])
        writer.writerow(
            [dimension.key, "total_shown", _("Total of the numbers shown"), dimension.total.csv]
        )
    writer.writerow(
        [
            "set_apart",
            "count",
            _("Set aside as suspected flood (not counted in the other figures)"),
            stats.set_apart.csv,
        ]
    )
    for measure in stats.measures:
        unit = "percent" if measure.unit == "percent" else "median_days"
        writer.writerow(["timeliness", f"{measure.key}_{unit}", measure.label, measure.csv])
        writer.writerow(
            ["timeliness", f"{measure.key}_cases", _("Reports counted"), measure.basis.csv]
        )
    return out.getvalue()


# --- charts -------------------------------------------------------------------------------------

# Colours against white: bar #0b5394 (7.9:1), outlines and hatching #4a535e (7.6:1), text
# #1b1f24 (16:1); all above the 3:1 WCAG 2.1 asks of graphical objects.
BAR_COLOUR = "#0b5394"
MUTED_COLOUR = "#4a535e"
TEXT_COLOUR = "#1b1f24"

_WIDTH, _LABEL_W, _BAR_W, _ROW_H, _BAR_H, _PAD = 640, 210, 330, 28, 18, 8
_STUB_W = 36  # suppressed bars have one fixed width: their length must not hint at a number


def _short(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def bar_chart_svg(
    rows: list[tuple[str, Cell]], *, title: str, chart_id: str | None = None
) -> SafeString:
    """An accessible horizontal bar chart as inline SVG (the page shows the same numbers in a
    table after it).

    ``role="img"`` named by its ``<title>`` and described by a ``<desc>`` that lists every
    value; text labels only, no script, no link, nothing fetched. Suppressed bars are a dashed,
    hatched box of one fixed width labelled like their table cell. Every text is escaped.
    ``chart_id`` makes the ids unique when a page holds several charts (default: from title).
    """
    chart_id = chart_id or "chart-" + hashlib.sha256(title.encode()).hexdigest()[:10]
    top = max((r.value or 0 for _label, r in rows), default=0) or 1
    height = _PAD * 2 + _ROW_H * max(len(rows), 1)
    description = "; ".join(f"{label}: {cell}" for label, cell in rows) or _("No data")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
        f'viewBox="0 0 {_WIDTH} {height}" aria-labelledby="{escape(chart_id)}-title '
        f'{escape(chart_id)}-desc" font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]
    x0 = _LABEL_W + 10
    for i, (label, cell) in enumerate(rows):
        y = _PAD + i * _ROW_H
        mid = y + _ROW_H / 2 + 4.5
        parts.append(
            f'<text x="{_LABEL_W}" y="{mid}" text-anchor="end" fill="{TEXT_COLOUR}">'
            f"{escape(_short(label))}</text>"
        )
        bar_y = y + (_ROW_H - _BAR_H) / 2
        if cell.value is None:
            parts.append(
                f'<rect x="{x0}" y="{bar_y}" width="{_STUB_W}" height="{_BAR_H}" fill="#ffffff" '
                f'stroke="{MUTED_COLOUR}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            )
            parts.extend(
                f'<line x1="{x0 + dx}" y1="{bar_y + _BAR_H}" x2="{x0 + dx + _BAR_H}" '
                f'y2="{bar_y}" stroke="{MUTED_COLOUR}" stroke-width="1"/>'
                for dx in range(0, _STUB_W - _BAR_H + 1, 6)
            )
            end: float = x0 + _STUB_W
        else:
            width = round(_BAR_W * cell.value / top, 1)
            if width:
                parts.append(
                    f'<rect x="{x0}" y="{bar_y}" width="{width}" height="{_BAR_H}" '
                    f'fill="{BAR_COLOUR}"/>'
                )
            end = x0 + width
        parts.append(
            f'<text x="{end + 6}" y="{mid}" fill="{TEXT_COLOUR}">{escape(str(cell))}</text>'
        )
    parts.append("</svg>")
    # Safe: every interpolated text above is escaped; the rest is our own markup.
    return mark_safe("".join(parts))  # noqa: S308
