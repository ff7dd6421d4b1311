"""The print copy of a submission: the web form's layout, its lines and totals, the
attachments and the approval history, as the downloader may see them.

:func:`build` does every lookup (access, values, history, attachment names) and returns a
:class:`PrintCopy`; the PDF is the web form's own Jinja layout rendered inside
``exports/print.html`` and typeset by WeasyPrint through the restricted fetcher, and the
Excel copy (:mod:`.print_xlsx`) writes the same resolved copy without touching the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import format_datetime, to_user_timezone
from sqlalchemy import select

from quire.designer.model import Template
from quire.designer.print_text import PrintTextError, render_print_text
from quire.designer.references import DRAFT_STEP
from quire.widgets.base import FieldBase, localized

from .. import access, audit
from ..approvals import engine
from ..approvals import reasons as approval_reasons
from ..errors import Detail, Invalid
from ..extensions import db
from ..forms import service
from ..forms import values as form_values
from ..forms.presenter import FormPage
from ..models import Attachment, Submission, SubmissionStatus, User, utcnow
from ..numbers import parse_id
from ..render.capital_amount import capital_amount
from ..render.document import bilingual
from ..words import ACTION_WORDS, DECISION_WORDS, STATUS_WORDS, in_locale, status_word
from .cells import CellValue, typed

LOGGER = logging.getLogger(__name__)

#: Who did what when nobody did: the engine's own events.
SYSTEM_ACTOR = ("系统", "System")
#: History actions that are a person's decision on a step: they sign the step's box.
SIGNING_ACTIONS = ("approve", "reject", "return")


def _both(words: Mapping[str, Any], code: str) -> str:
    """A status or action word in both languages, as a page read by either shows it."""
    return bilingual({"zh": in_locale("zh_CN", words, code), "en": in_locale("en", words, code)})


def _pick(pair: tuple[str, str], locale: str) -> str:
    return pair[0] if locale.lower().startswith("zh") else pair[1]


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the approval history as printed."""

    step: str
    actor: str
    on_behalf_of: str | None
    action: str
    comment: str | None
    #: Local time (the configured time zone), aware.
    at: dt.datetime

    @property
    def at_text(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Signature:
    """One signature box (审批签字栏): a person's decision on a step of the last round."""

    step: str
    decision: str
    name: str
    on_behalf_of: str | None
    at: dt.datetime
    comment: str | None

    @property
    def at_text(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class AttachmentEntry:
    """A file or invoice number the form refers to, and where."""

    where: str
    name: str
    is_file: bool


@dataclass(frozen=True)
class FieldEntry:
    label: str
    cell: CellValue


@dataclass(frozen=True)
class TableEntry:
    key: str
    label: str
    columns: list[tuple[str, str]]  # (key, label)
    rows: list[list[CellValue]]
    totals: dict[str, CellValue]
    masked: str | None = None


@dataclass
class PrintCopy:
    """Everything a print copy shows, resolved for one downloader."""

    submission_id: int
    number: str
    template_key: str
    template_version: int
    title: str
    status: str
    status_label: str
    draft: bool
    department: str
    submitter: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    printed_at: dt.datetime
    printed_by: str
    company: str
    locale: str
    header: str
    footer: str
    paper: str
    orientation: str
    show_history: bool
    page: FormPage
    #: Section titles, fields and tables in layout order, for the Excel copy.
    fields: list[FieldEntry | TableEntry | str] = field(default_factory=list)
    tables: list[TableEntry] = field(default_factory=list)
    attachments: list[AttachmentEntry] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    #: The form's total and its 大写 (amounts in 元 only), for the amount box.
    total: Decimal | None = None
    total_text: str = ""
    total_in_words: str = ""
    #: The claim number as a QR code (an SVG ``data:`` URI), for filing; "" without segno.
    number_qr: str = ""
    #: An amendment (变更): the number of the submission this revision amends, and of the
    #: approved revision that replaced this one.
    revision_of: str | None = None
    superseded_by: str | None = None

    @property
    def stamp(self) -> str | None:
        """What is stamped across a copy that is not approved (审批中, 草稿…), or None."""
        if not self.draft:
            return None
        return _both(STATUS_WORDS, self.status)

    @property
    def lang(self) -> str:
        return "zh-CN" if self.locale.lower().startswith("zh") else "en"

    @property
    def page_class(self) -> str:
        return f"paper-{self.paper.lower()}-{self.orientation}"

    @property
    def filename_stem(self) -> str:
        return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in self.number)


def local(moment: dt.datetime) -> dt.datetime:
    """A stored UTC moment in the configured time zone."""
    return to_user_timezone(moment)


def build(user: User, submission_id: int, locale: str) -> PrintCopy:
    """The print copy of a submission the user may read (404 otherwise)."""
    loaded = service.load(user, submission_id)
    submission, template = loaded.submission, loaded.template
    # A print copy is never a form to fill in: what the downloader may edit prints as text.
    print_access = {
        key: "read" if level == "edit" else level for key, level in loaded.access.items()
    }
    page = FormPage(
        template, submission.data, print_access, locale, mode="print", upload_endpoint=None
    )
    attachments = _attachments_of(submission, template, page)
    status = submission.status.value
    settings = template.print
    context = _sandbox_context(submission, template, locale)
    copy = PrintCopy(
        submission_id=submission.id,
        number=submission.number,
        template_key=submission.template.key,
        template_version=submission.template_version,
        title=localized(template.title, locale),
        status=status,
        status_label=_both(STATUS_WORDS, status),
        draft=submission.status != SubmissionStatus.APPROVED,
        department=f"{submission.department.code} {submission.department.name(locale)}",
        submitter=submission.submitter.display_name,
        created_at=local(submission.created_at),
        submitted_at=local(submission.submitted_at) if submission.submitted_at else None,
        printed_at=local(utcnow()),
        printed_by=user.display_name,
        company=company_name(),
        locale=locale,
        header=print_text(settings.header, context, "print.header"),
        footer=print_text(settings.footer, context, "print.footer"),
        paper=settings.paper,
        orientation=settings.orientation,
        show_history=settings.approval_history,
        page=page,
        attachments=list(_attachment_entries(template, page, attachments)),
        history=history(submission, template, locale, print_access)
        if settings.approval_history
        else [],
        signatures=signatures(submission, template, locale),
        number_qr=qr_data_uri(submission.number),
        revision_of=submission.supersedes.number if submission.supersedes else None,
        superseded_by=submission.superseded_by.number if submission.superseded_by else None,
    )
    if submission.total is not None and _in_yuan(template):
        copy.total = submission.total
        copy.total_text = f"¥{submission.total:,.2f}"
        copy.total_in_words = capital_amount(submission.total)
    _resolve_fields(copy, template, page, attachments)
    return copy


def company_name() -> str:
    """The company named on print copies and report PDFs (``QUIRE_COMPANY_NAME``)."""
    return str(current_app.config.get("COMPANY_NAME") or "Quire")


def _in_yuan(template: Template) -> bool:
    """Are the form's amounts in 元? 大写金额 are written in 元, 角 and 分 only."""
    registry = form_values.widgets()
    for f in template.fields:
        for column in [f, *(getattr(f, "columns", None) or [])]:
            currency = getattr(column, "currency", None)
            if registry.for_field(column).type_name == "money" and currency not in (None, "CNY"):
                return False
    return True


def qr_data_uri(text: str) -> str:
    """``text`` as a QR code (SVG) for the print copy; "" when segno is not installed."""
    try:
        import segno
    except ImportError:  # pragma: no cover - segno is a dependency; an old venv lacks it
        LOGGER.warning("print copy: segno is not installed; printing without the QR code")
        return ""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        buffer, kind="svg", xmldecl=False, svgns=True, scale=4, border=2
    )
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def print_text(source: str, context: dict[str, Any], path: str) -> str:
    """A template author's header or footer, rendered in the limited sandbox. One that cannot
    be rendered (a version published before the limits) is a clear 422 naming its path, never
    a 500 or a hung worker."""
    try:
        return render_print_text(source, context)
    except PrintTextError as exc:
        raise Invalid(
            "This form's print header or footer cannot be printed; "
            "a designer needs to correct the template.",
            [Detail(path, str(exc))],
        ) from None


def _sandbox_context(submission: Submission, template: Template, locale: str) -> dict[str, Any]:
    return {
        "submission": {
            "number": submission.number,
            "status": status_word(submission.status),
            "status_code": submission.status.value,
            "department": submission.department.code,
            "department_name": submission.department.name(locale),
            "submitter": submission.submitter.display_name,
            "created_at": format_datetime(submission.created_at, "yyyy-MM-dd"),
            "total": str(submission.total) if submission.total is not None else "",
        },
        "form": {
            "key": submission.template.key,
            "title": localized(template.title, locale),
            "version": submission.template_version,
        },
        "company": company_name(),
    }


def history(
    submission: Submission,
    template: Template,
    locale: str,
    field_access: Mapping[str, str] | None = None,
) -> list[HistoryEntry]:
    """Every event of the submission's approval history, oldest first; an approver's edit
    says what changed, as the downloader may see it; the engine's own events say why in a
    sentence (never the rule's formula)."""
    entries = []
    told = approval_reasons.for_submission(submission, template, locale)
    for event in db.session.scalars(engine.history_query(submission)).unique():
        comment = told.comment(event)
        if event.action == "edit" and isinstance(event.details, dict):
            lines = form_values.describe_changes(
                template, event.details.get("changes"), field_access or {}, locale
            )
            changed = "; ".join(f"{c['label']}: {c['old']} → {c['new']}" for c in lines)
            # ``comment`` is then the route's change in words, when the edit changed it.
            comment = f"{changed} ({comment})" if changed and comment else changed or comment
        if event.action == "amend" and isinstance(event.details, dict):
            said = event.details.get("zh" if locale.lower().startswith("zh") else "en")
            comment = f"{said}: {comment}" if said and comment else said or comment
        entries.append(
            HistoryEntry(
                step=engine.step_name(template, event.step_key, locale)
                if event.step_key != DRAFT_STEP
                else "",
                actor=event.actor.display_name if event.actor else _pick(SYSTEM_ACTOR, locale),
                on_behalf_of=event.on_behalf_of.display_name if event.on_behalf_of else None,
                action=in_locale(locale, ACTION_WORDS, event.action),
                comment=comment,
                at=local(event.at),
            )
        )
    return entries


def signatures(submission: Submission, template: Template, locale: str) -> list[Signature]:
    """The signature boxes: each person's decision on a step in the last round, in the
    route's order (a step decided twice in a round shows the last decision)."""
    events = list(db.session.scalars(engine.history_query(submission)).unique())
    if not events:
        return []
    last_round = max(e.round for e in events)
    order = {step.key: index for index, step in enumerate(engine.steps_of(template))}
    decided: dict[tuple[str, int], Any] = {}
    for event in events:
        if event.round == last_round and event.action in SIGNING_ACTIONS and event.actor:
            decided[(event.step_key, event.actor_id)] = event
    chosen = sorted(decided.values(), key=lambda e: (order.get(e.step_key, len(order)), e.at))
    return [
        Signature(
            step=engine.step_name(template, e.step_key, locale),
            decision=in_locale(locale, DECISION_WORDS, e.action),
            name=e.actor.display_name,
            on_behalf_of=e.on_behalf_of.display_name if e.on_behalf_of else None,
            at=local(e.at),
            comment=e.comment,
        )
        for e in chosen
    ]


# --- attachments ----------------------------------------------------------------------------------
def _attachment_values(template: Template, page: FormPage) -> list[tuple[str, str]]:
    """(where, value) of every attachment the downloader may see, in form order."""
    found = []
    registry = form_values.widgets()
    for f in template.fields:
        if not page.visible(f.key) or page.masked(f.key):
            continue
        if page.is_table(f):
            columns = [c for c in f.columns if registry.for_field(c).holds_files]
            for index, row in enumerate(page.stored_rows(f)):
                for column in columns:
                    for value in _as_list(row.get(column.key)):
                        where = f"{page.label(f)} #{index + 1} · {page.label(column)}"
                        found.append((where, value))
        elif registry.for_field(f).holds_files:
            found.extend((page.label(f), value) for value in _as_list(page.data.get(f.key)))
    return found


def _as_list(value: Any) -> list[str]:
    if value in (None, "", []):
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _attachments_of(
    submission: Submission, template: Template, page: FormPage
) -> dict[str, Attachment]:
    """The uploaded files the form refers to; someone else's file counts as plain text."""
    ids = {i for _, v in _attachment_values(template, page) if (i := parse_id(v)) is not None}
    if not ids:
        return {}
    rows = db.session.scalars(select(Attachment).where(Attachment.id.in_(ids))).all()
    return {str(a.id): a for a in rows if access.may_use_attachment(a, submission)}


def _attachment_entries(template: Template, page: FormPage, files: dict[str, Attachment]):  # type: ignore[no-untyped-def]
    for where, value in _attachment_values(template, page):
        attachment = files.get(value)
        yield AttachmentEntry(
            where, attachment.filename if attachment else value, attachment is not None
        )


# --- fields and lines for the Excel copy ----------------------------------------------------------
def _resolve_fields(
    copy: PrintCopy, template: Template, page: FormPage, files: dict[str, Attachment]
) -> None:
    """The fields in layout order (section titles as plain strings) and the tables."""
    for section in page.sections():
        if section.title:
            copy.fields.append(section.title)
        for row in section.rows:
            for cell in row:
                f = cell.field
                if page.is_table(f):
                    entry = _table_entry(page, f, files)
                    copy.tables.append(entry)
                    copy.fields.append(entry)
                elif page.has_value(f):
                    copy.fields.append(FieldEntry(page.label(f), _field_cell(page, f)))


def _field_cell(page: FormPage, f: FieldBase) -> CellValue:
    if page.masked(f.key):
        return CellValue("text", page.display(f))
    widget = form_values.widgets().for_field(f)
    exported = widget.export_value(f, page.values.get(f.key))
    return typed(exported.excel_format, exported.value) or CellValue("text", page.display(f))


def _table_entry(page: FormPage, table: Any, files: dict[str, Attachment]) -> TableEntry:
    columns = [(c.key, page.label(c)) for c in table.columns]
    if page.masked(table.key):
        return TableEntry(table.key, page.label(table), columns, [], {}, masked=page.display(table))
    registry = form_values.widgets()
    stored = page.stored_rows(table)
    parsed = page.values.get(table.key) or []
    rows = []
    for index, raw_row in enumerate(stored):
        python_row = parsed[index] if index < len(parsed) else {}
        cells = []
        for column in table.columns:
            widget = registry.for_field(column)
            raw = raw_row.get(column.key) if isinstance(raw_row, dict) else None
            if widget.computed:
                value = form_values.computed_from_json(column, raw)
            else:
                value = python_row.get(column.key)
            if widget.holds_files:
                names = [files[v].filename if v in files else v for v in _as_list(raw)]
                cells.append(CellValue("text", ", ".join(names)))
                continue
            exported = widget.export_value(column, value)
            cells.append(
                typed(exported.excel_format, exported.value)
                or CellValue("text", widget.display(column, value, page.locale))
            )
        rows.append(cells)
    totals = {}
    for key, amount in registry.for_field(table).totals(table, parsed).items():
        column = table.column(key)
        kind = (
            registry.for_field(column).export_value(column, amount).excel_format
            if column
            else "number"
        )
        totals[key] = typed(kind, amount) or CellValue("number", amount, 2)
    return TableEntry(table.key, page.label(table), columns, rows, totals)


def record_download(user: User, copy: PrintCopy, fmt: str) -> None:
    audit.record(
        user,
        "submission.print",
        object_type="submission",
        object_id=copy.submission_id,
        changes={"format": fmt, "number": copy.number, "status": copy.status},
    )


# The renderer lives beside the service; its names stay reachable from here.
from .print_pdf import render_html, render_pdf, static_root  # noqa: E402

__all__ = ["PrintCopy", "build", "company_name", "render_html", "render_pdf", "static_root"]
