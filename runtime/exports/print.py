"""The print copy of a submission: the web form's layout, its lines and totals, the
attachments and the approval history, as the downloader may see them.

:func:`build` does every lookup (access, values, history, attachment names) and returns a
:class:`PrintCopy`; the PDF is the web form's own Jinja layout rendered inside
``exports/print.html`` and typeset by WeasyPrint through the restricted fetcher, and the
Excel copy (:mod:`.print_xlsx`) writes the same resolved copy without touching the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_babel import format_datetime, to_user_timezone
from sqlalchemy import select

from quire.designer.model import Template
from quire.designer.print_text import PrintTextError, render_print_text
from quire.designer.references import DRAFT_STEP
from quire.widgets.base import FieldBase, localized

from .. import access, audit
from ..approvals import engine
from ..errors import Detail, Invalid
from ..extensions import db
from ..forms import service
from ..forms import values as form_values
from ..forms.presenter import FormPage
from ..models import Attachment, Submission, SubmissionStatus, User, utcnow
from ..numbers import parse_id
from ..render.document import bilingual
from ..render.pdf_form import StaticOnlyFetcher, render_html_pdf
from .cells import CellValue, typed

#: Status and action names as a printed document shows them (a page has both languages).
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "Draft"),
    "in_review": ("审批中", "In review"),
    "approved": ("已批准", "Approved"),
    "rejected": ("已驳回", "Rejected"),
    "returned": ("已退回", "Returned"),
    "withdrawn": ("已撤回", "Withdrawn"),
}
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "submit": ("提交", "Submitted"),
    "approve": ("同意", "Approved"),
    "reject": ("驳回", "Rejected"),
    "return": ("退回", "Returned"),
    "delegate": ("转交", "Delegated"),
    "withdraw": ("撤回", "Withdrawn"),
    "comment": ("评论", "Commented"),
    "skip": ("跳过", "Skipped"),
    "auto_approve": ("自动通过", "Approved automatically"),
    "auto_reject": ("自动驳回", "Rejected automatically"),
    "remind": ("催办", "Reminded"),
    "escalate": ("升级", "Escalated"),
    "reassign": ("改派", "Reassigned"),
    "edit": ("修改", "Changed"),
}
SYSTEM_ACTOR = ("系统", "System")


def _both(pair: tuple[str, str]) -> str:
    return bilingual({"zh": pair[0], "en": pair[1]})


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
        status_label=_both(STATUS_LABELS.get(status, (status, status))),
        draft=submission.status != SubmissionStatus.APPROVED,
        department=f"{submission.department.code} {submission.department.name(locale)}",
        submitter=submission.submitter.display_name,
        created_at=local(submission.created_at),
        submitted_at=local(submission.submitted_at) if submission.submitted_at else None,
        printed_at=local(utcnow()),
        printed_by=user.display_name,
        company=current_app.config.get("COMPANY_NAME", "Quire"),
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
    )
    _resolve_fields(copy, template, page, attachments)
    return copy


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
            "status": submission.status.value,
            "department": submission.department.code,
            "submitter": submission.submitter.display_name,
            "created_at": format_datetime(submission.created_at, "yyyy-MM-dd"),
            "total": str(submission.total) if submission.total is not None else "",
        },
        "form": {
            "key": submission.template.key,
            "title": localized(template.title, locale),
            "version": submission.template_version,
        },
    }


def history(
    submission: Submission,
    template: Template,
    locale: str,
    field_access: Mapping[str, str] | None = None,
) -> list[HistoryEntry]:
    """Every event of the submission's approval history, oldest first; an approver's edit
    says what changed, as the downloader may see it."""
    entries = []
    for event in db.session.scalars(engine.history_query(submission)).unique():
        action = ACTION_LABELS.get(event.action)
        comment = event.comment
        if event.action == "edit" and isinstance(event.details, dict):
            lines = form_values.describe_changes(
                template, event.details.get("changes"), field_access or {}, locale
            )
            comment = "; ".join(f"{c['label']}: {c['old']} → {c['new']}" for c in lines)
            if event.comment:
                comment = f"{comment} ({event.comment})" if comment else event.comment
        entries.append(
            HistoryEntry(
                step=engine.step_name(template, event.step_key, locale)
                if event.step_key != DRAFT_STEP
                else "",
                actor=event.actor.display_name if event.actor else _pick(SYSTEM_ACTOR, locale),
                on_behalf_of=event.on_behalf_of.display_name if event.on_behalf_of else None,
                action=_pick(action, locale) if action else event.action,
                comment=comment,
                at=local(event.at),
            )
        )
    return entries


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


# --- output ---------------------------------------------------------------------------------------
def static_root() -> Path:
    return Path(current_app.static_folder or Path(__file__).parents[1] / "static")


def render_html(copy: PrintCopy) -> str:
    """The print page: ``forms/_fields.html``'s layout inside ``exports/print.html``."""
    return render_template("exports/print.html", copy=copy, page=copy.page)


def render_pdf(copy: PrintCopy, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """PDF bytes; relative URLs in the page resolve to the static folder and nothing else."""
    return render_html_pdf(
        render_html(copy), base_url=None, static_root=static_root(), fetcher=fetcher
    )


def record_download(user: User, copy: PrintCopy, fmt: str) -> None:
    audit.record(
        user,
        "submission.print",
        object_type="submission",
        object_id=copy.submission_id,
        changes={"format": fmt, "number": copy.number, "status": copy.status},
    )
