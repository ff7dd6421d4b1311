"""Submissions: create, change while a draft, load with access checks, list in scope.

Each function takes the acting user, checks through :mod:`quire.runtime.access`, raises
domain errors, and records an audit event in the same transaction as the change.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from quire.designer.model import Template
from quire.designer.references import DRAFT_STEP
from quire.widgets.base import FieldBase, ParseContext

from .. import access, audit
from ..approvals.settings import local_day
from ..errors import Conflict, Detail, Forbidden, Invalid, NotFound, QuireError
from ..extensions import db
from ..models import (
    ApprovalTask,
    Attachment,
    Department,
    FormTemplate,
    Submission,
    SubmissionStatus,
    TaskStatus,
    User,
    VoucherUse,
    utcnow,
)
from ..numbers import parse_id
from . import revisions
from . import templates as template_service
from . import values as form_values


@dataclass
class Loaded:
    """A submission with its typed template and the viewer's field access."""

    submission: Submission
    template: Template
    access: dict[str, str]
    is_approver: bool


def submitter_facts(user: User) -> dict[str, Any]:
    """What formulas may read about the submitter (``=submitter.department``)."""
    return {
        "submitter": {"username": user.username, "department": user.department.code},
    }


def _fields_with_sources(template: Template) -> list[FieldBase]:
    """Fields and table columns whose choices come from one of the template's data sources."""
    found = []
    for f in template.fields:
        for candidate in [f, *(getattr(f, "columns", None) or ())]:
            if getattr(candidate, "options_from", None) is not None:
                found.append(candidate)
    return found


def source_values(user: User, template: Template) -> tuple[dict[str, frozenset[str]], set[str]]:
    """The values each data source a field picks from allows right now (a project must be in
    the project register), and the keys of the sources that cannot be read just now."""
    from quire.plugins.base import ConnectorError

    from ..datasources.service import form_context, options_for

    allowed: dict[str, set[str]] = {}
    unavailable: set[str] = set()
    for f in _fields_with_sources(template):
        spec = cast(Any, f).options_from  # every field listed has one
        entry = next((d for d in template.data_sources if d.key == spec.source), None)
        try:
            if entry is None:
                raise LookupError(spec.source)
            rows = options_for(
                user,
                entry.model_dump(mode="json", by_alias=True),
                spec.value_column,
                spec.label_column or spec.value_column,
                form_context(user),
            )
        except (QuireError, ConnectorError, LookupError):
            unavailable.add(spec.source)
            continue
        allowed.setdefault(spec.source, set()).update(value for value, _label in rows)
    return {key: frozenset(values) for key, values in allowed.items()}, unavailable


def checked_context(user: User, template: Template, today: date) -> ParseContext:
    """The parse context of a save or submit: today, the values data sources allow, and the
    organisation's records the form's pickers may name."""
    known, _unavailable = source_values(user, template)
    return ParseContext(
        today=today, source_values=known, organisation_values=organisation_values(template)
    )


def organisation_values(template: Template) -> dict[str, frozenset[str]]:
    """Departments, people and roles a picker of ``template`` may name (only those it has)."""
    from .lookup import OrganisationLookup

    registry = form_values.widgets()
    records = set()
    for f in template.fields:
        for candidate in [f, *(getattr(f, "columns", None) or ())]:
            widget = registry.for_field(candidate)
            if widget.names_record and getattr(candidate, "options_from", None) is None:
                records.add(widget.names_record)
    lookup = OrganisationLookup("en")
    readers = {"department": lookup.departments, "user": lookup.users, "role": lookup.roles}
    return {
        record: frozenset(value for value, _label in readers[record]())
        for record in records
        if record in readers
    }


def _unchecked_values(user: User, template: Template, data: dict[str, Any]) -> list[Detail]:
    """Values whose data source cannot be read now: refused at submit (never approved
    unchecked), accepted in a draft."""
    _known, unavailable = source_values(user, template)
    problems = []
    for f in template.fields:
        spec = getattr(f, "options_from", None)
        if spec is not None and spec.source in unavailable and data.get(f.key):
            problems.append(
                Detail(f.key, "the list of choices cannot be read right now; try again later")
            )
    return problems


def step_of(submission: Submission, user: User | None = None) -> str | None:
    """The step whose permissions apply: while branches run in parallel, the step of the
    task ``user`` holds (each branch's approvers see what their own step allows)."""
    if submission.status in (SubmissionStatus.DRAFT, SubmissionStatus.RETURNED):
        return DRAFT_STEP
    if submission.status == SubmissionStatus.IN_REVIEW:
        if user is not None:
            held = db.session.scalar(
                select(ApprovalTask.step_key)
                .where(
                    ApprovalTask.submission_id == submission.id,
                    ApprovalTask.status == TaskStatus.OPEN,
                    access.actionable_tasks(user, _local_today()),
                )
                .order_by(ApprovalTask.id)
                .limit(1)
            )
            if held:
                return held
        return submission.current_step
    return None


def load(user: User, submission_id: int) -> Loaded:
    """The submission if the user may see it; 404 otherwise (unknown and out of scope alike)."""
    submission = db.session.get(Submission, submission_id)
    if submission is None or not access.may_read_submission(user, submission):
        raise NotFound("No such submission, or it is outside your scope.")
    return describe(user, submission)


def describe(user: User, submission: Submission) -> Loaded:
    version = template_service.version_record(submission.template, submission.template_version)
    template = template_service.parsed(version)
    approver = submission.status == SubmissionStatus.IN_REVIEW and access.holds_task(
        user, submission
    )
    field_access = access.field_access(
        user,
        template,
        department=submission.department,
        submitter_id=submission.submitter_id,
        step=step_of(submission, user if approver else None),
        is_approver=approver,
    )
    return Loaded(submission, template, field_access, approver)


def new_form_access(user: User, template: Template) -> dict[str, str]:
    return access.field_access(
        user, template, department=user.department, submitter_id=user.id, step=DRAFT_STEP
    )


def _prefix(key: str) -> str:
    return "".join(part[0] for part in key.split("-") if part).upper()[:4] or "F"


def _department_of(template: Template, data: dict[str, Any], user: User) -> Department:
    code = data.get("department") if template.field("department") is not None else None
    if code:
        dept = db.session.scalar(select(Department).where(Department.code == code))
        if dept is None:
            raise Invalid(
                "Please check the form.", [Detail("department", f"unknown department {code}")]
            )
        return dept
    return user.department


def _department_problem(template: Template, data: dict[str, Any], user: User) -> list[Detail]:
    """The department check, so it is reported together with every other problem."""
    try:
        department = _department_of(template, data, user)
    except Invalid as exc:
        return exc.details
    if not access.may_file_for(user, department):
        return [Detail("department", "you cannot file forms for this department")]
    return []


def _period_of(template: Template, values: dict[str, Any], today: date) -> date:
    for key in ("period", "fiscal_period"):
        value = values.get(key) if template.field(key) is not None else None
        if isinstance(value, date):
            return value.replace(day=1)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value):
            return date(int(value[:4]), int(value[5:7]), 1)
    year = values.get("fiscal_year") if template.field("fiscal_year") is not None else None
    if year:
        try:
            return date(int(year), 1, 1)
        except (TypeError, ValueError):
            pass
    return today.replace(day=1)


def _apply(
    submission: Submission,
    template: Template,
    outcome: form_values.Outcome,
    user: User,
    today: date,
) -> None:
    department = _department_of(template, outcome.data, user)
    if not access.may_file_for(user, department):
        raise Invalid(
            "Please check the form.",
            [Detail("department", "you cannot file forms for this department")],
        )
    submission.department = department
    submission.data = outcome.data
    submission.project = (
        (outcome.data.get("project") or None) if template.field("project") else None
    )
    submission.period = _period_of(template, outcome.values, today)
    total = outcome.values.get("total")
    submission.total = total if isinstance(total, Decimal) else None


def _fail_on(
    outcome: form_values.Outcome,
    template: Template,
    user: User,
    owners: set[int] | frozenset[int] = frozenset(),
) -> None:
    if outcome.data:
        outcome.errors.extend(_department_problem(template, outcome.data, user))
        outcome.errors.extend(_attachment_problems(template, outcome.data, user, owners))
    if outcome.errors:
        raise Invalid("Please correct the highlighted fields.", outcome.errors)


def _local_today() -> date:
    """Today in the instance's time zone (a claim typed at 00:30 in Shanghai is dated that
    day on a UTC server), for callers that do not hand a day in."""
    return local_day(utcnow())


def create(
    user: User,
    template_key: str,
    data: Any,
    *,
    today: date | None = None,
    revision_of: Submission | None = None,
) -> Submission:
    """A new draft on the latest published version of the form; with ``revision_of``, the
    next revision of that submission (numbered after it, keeping its invoice files)."""
    record = template_service.template_by_key(template_key)
    if record.kind != "form":
        raise NotFound(f"{template_key} is not a form.")
    if not access.may_fill_forms(user):
        raise Forbidden("You are not allowed to fill in forms.")
    version, template = template_service.published(template_key)
    today = today or _local_today()
    outcome = form_values.process(
        template,
        data if data is not None else {},
        previous=None,
        access=new_form_access(user, template),
        extra=submitter_facts(user),
        ctx=checked_context(user, template, today),
        creating=True,
    )
    _fail_on(outcome, template, user, revisions.lineage(revision_of) if revision_of else set())
    submission = Submission(
        template=record,
        template_version=version.version,
        number=f"tmp-{uuid.uuid4().hex[:20]}",
        status=SubmissionStatus.DRAFT,
        submitter=user,
        supersedes_id=revision_of.id if revision_of is not None else None,
    )
    _apply(submission, template, outcome, user, today)
    db.session.add(submission)
    db.session.flush()
    # The number needs the id; a plain UPDATE sets it without counting as a change of version.
    from sqlalchemy import update as sql_update
    from sqlalchemy.orm.attributes import set_committed_value

    if revision_of is not None:
        number = revisions.next_number(revision_of)
    else:
        number = f"{_prefix(record.key)}-{submission.created_at.year}-{submission.id:05d}"
    db.session.execute(
        sql_update(Submission).where(Submission.id == submission.id).values(number=number)
    )
    set_committed_value(submission, "number", number)
    record_vouchers(submission, template)
    audit.record(
        user,
        "submission.create",
        object_type="submission",
        object_id=submission.id,
        changes={"form": record.key, "number": submission.number}
        | ({"revision_of": revision_of.number} if revision_of is not None else {}),
    )
    return submission


def create_revision(
    user: User, original: Submission, *, today: date | None = None
) -> tuple[Submission, list[Detail]]:
    """The draft of ``original``'s next revision: its values copied onto the form's latest
    published version, as a new draft is. Values that version no longer accepts are left
    out and returned by path, so the submitter sees what to fill in again; the caller has
    checked that ``user`` may amend ``original``."""
    data = copy.deepcopy(original.data or {})
    left_out: list[Detail] = []
    for _attempt in range(5):
        try:
            # Invalid is raised before anything is written, so trying again is safe.
            revision = create(user, original.template.key, data, today=today, revision_of=original)
            return revision, left_out
        except Invalid as exc:
            # A department the submitter may no longer file for is refused, never swapped
            # for their own behind their back.
            if any(d.path == "department" for d in exc.details):
                raise
            if not _drop_invalid(data, exc.details):
                raise
            left_out.extend(exc.details)
    raise Invalid("Please correct the highlighted fields.", left_out)


def update(
    user: User, submission_id: int, data: Any, version: Any, *, today: date | None = None
) -> Submission:
    """Change a draft (or a returned submission); ``version`` must match (else 409)."""
    loaded = load(user, submission_id)
    submission, template = loaded.submission, loaded.template
    check_version(submission, version)
    if not access.is_submitter(user, submission):
        raise Forbidden("Only the submitter can change this form.")
    if not access.may_edit_submission(user, submission):
        raise Conflict(f"A submission that is {submission.status.value} can no longer be changed.")
    today = today or _local_today()
    before = dict(submission.data)
    outcome = form_values.process(
        template,
        data if data is not None else {},
        previous=submission.data,
        access=loaded.access,
        extra=submitter_facts(user),
        ctx=checked_context(user, template, today),
    )
    _fail_on(outcome, template, user, revisions.lineage(submission))
    _refuse_closed_quarters(submission, outcome.data, today)
    _apply(submission, template, outcome, user, today)
    record_vouchers(submission, template)
    changes = audit.field_changes(before, submission.data)
    if outcome.ignored:
        changes["_ignored_fields"] = outcome.ignored
    audit.record(
        user,
        "submission.update",
        object_type="submission",
        object_id=submission.id,
        changes=changes,
    )
    db.session.flush()
    return submission


def _refuse_closed_quarters(submission: Submission, data: dict[str, Any], today: date) -> None:
    """A department budget in a re-forecast round keeps its closed quarters (before the
    round, or already past) whoever saves it and from wherever (422 by line and quarter)."""
    from ..approvals.budget import BUDGET_FORM

    if submission.template.key == BUDGET_FORM:
        from ..budgeting.lines import refuse_closed_quarters

        refuse_closed_quarters(submission, data, today)


def save_in_submitters_name(
    editor: User,
    submission: Submission,
    data: Any,
    *,
    action: str,
    changes: dict[str, Any] | None = None,
    today: date | None = None,
) -> Submission:
    """Change a draft's values for ``editor``, whom the caller has allowed to change exactly
    these values (a colleague's own cost centre's budget line, asked of
    :func:`access.may_edit_budget_line`). The values are checked as the submitter's own save
    checks them, in the submitter's name (their department, their data sources); the change is
    audited as ``editor``'s. The optimistic lock still guards the write: two saves at the same
    moment cannot both land on the same version."""
    submitter = submission.submitter
    loaded = describe(submitter, submission)
    today = today or _local_today()
    before = dict(submission.data)
    outcome = form_values.process(
        loaded.template,
        data if data is not None else {},
        previous=submission.data,
        access=loaded.access,
        extra=submitter_facts(submitter),
        ctx=checked_context(submitter, loaded.template, today),
    )
    _fail_on(outcome, loaded.template, submitter, revisions.lineage(submission))
    _apply(submission, loaded.template, outcome, submitter, today)
    audit.record(
        editor,
        action,
        object_type="submission",
        object_id=submission.id,
        changes=(changes or {}) | audit.field_changes(before, submission.data),
    )
    db.session.flush()
    return submission


def edit_at_step(
    user: User, loaded: Loaded, data: Any, *, today: date | None = None
) -> list[dict[str, Any]]:
    """An approver's change at their step: the fields (or table columns) the step lets them
    edit, validated as the submitter's values are, and the form still complete and meeting its
    rules. Returns what changed (``[{path, field, column, old, new}]``); the approval engine,
    which checked the task, records it in the history and re-evaluates the route.

    A field sent with a value they may not change is refused (403, by path): an approver's
    client must know what it changed.
    """
    submission, template = loaded.submission, loaded.template
    if not isinstance(data, dict):
        raise Invalid("Please check the form.", [Detail("data", "must be an object of values")])
    editable = [k for k, level in loaded.access.items() if level == "edit"]
    if not editable:
        raise Forbidden("Your step does not let you change this form.")
    today = today or _local_today()
    submitter = submission.submitter
    before = dict(submission.data)
    outcome = form_values.process(
        template,
        data,
        previous=submission.data,
        access=loaded.access,
        extra=submitter_facts(submitter),
        ctx=ParseContext(today=today),
    )
    if outcome.ignored:
        raise Forbidden(
            "Your step does not let you change these fields.",
            [Detail(path, "may not be changed at this step") for path in outcome.ignored],
        )
    if outcome.errors:
        raise Invalid("Please correct the highlighted fields.", outcome.errors)
    values = outcome.values
    problems = form_values.check_complete(template, values, ParseContext(today=today))
    problems += form_values.check_rules(template, values, submitter_facts(submitter), today)
    if problems:
        raise Invalid("The form would no longer be complete.", problems)
    _apply(submission, template, outcome, submitter, today)
    record_vouchers(submission, template)
    changes = form_values.changes_between(template, before, submission.data)
    audit.record(
        user,
        "submission.edit_at_step",
        object_type="submission",
        object_id=submission.id,
        changes={
            "step": submission.current_step,
            **audit.changes_between(before, submission.data),
        },
    )
    return changes


def check_version(submission: Submission, version: Any) -> None:
    if version is None or str(version) != str(submission.version):
        raise Conflict(
            "This submission was changed by someone else; reload it and try again.",
            [Detail("version", f"expected {submission.version}")],
        )


def validate_for_submit(
    user: User,
    submission: Submission,
    template: Template,
    extra: dict[str, Any] | None = None,
    today: date | None = None,
    locale: str = "en",
) -> None:
    """Everything a submission needs before it enters review: complete, rules met."""
    today = today or _local_today()
    values = form_values.to_python(template, submission.data)
    problems = form_values.check_complete(template, values, checked_context(user, template, today))
    problems += _unchecked_values(user, template, submission.data)
    problems += form_values.check_rules(
        template, values, {**submitter_facts(user), **(extra or {})}, today, locale
    )
    if not problems:
        from ..approvals import outcomes

        problems = outcomes.check(user, submission, template, today, locale)
    if problems:
        raise Invalid("The form is not complete yet.", problems)


# --- vouchers ---------------------------------------------------------------------------------
def _normalise_invoice(value: str) -> str:
    return re.sub(r"[\s\-_/]", "", value).upper()


def _own_attachment(value: str, submitter_id: int) -> Attachment | None:
    """The attachment a field value names, if it is one the submitter uploaded; any other
    value is an invoice number."""
    attachment_id = parse_id(value)
    if attachment_id is None:
        return None
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.owner_id != submitter_id:
        return None
    return attachment


def _attachment_problems(
    template: Template, data: dict[str, Any], user: User, owners: set[int] | frozenset[int]
) -> list[Detail]:
    """An attachment belongs to the one submission that first used it, for good: quoting it
    in another draft would take the invoice away from an approved claim. ``owners`` are the
    submissions whose files this one may quote: itself and, for a revision, those it revises."""
    problems = []
    for path, value in _invoice_values(template, data):
        attachment = _own_attachment(value, user.id)
        if attachment is None or attachment.submission_id is None:
            continue
        if attachment.submission_id not in owners:
            problems.append(
                Detail(path, "this file belongs to another submission; upload it again instead")
            )
    return problems


def record_vouchers(submission: Submission, template: Template) -> None:
    """Remember the invoice numbers and invoice files this submission uses."""
    db.session.query(VoucherUse).filter(VoucherUse.submission_id == submission.id).delete()
    # A revision quotes its original's files; they stay the original's.
    owners = revisions.lineage(submission) if submission.supersedes_id is not None else set()
    for path, value in _invoice_values(template, submission.data):
        attachment = _own_attachment(value, submission.submitter_id)
        if attachment is not None and attachment.submission_id not in (None, submission.id):
            if attachment.submission_id not in owners:
                attachment = None  # never moved (refused earlier; kept as a number if it gets here)
        if attachment is not None:
            if attachment.submission_id is None:
                attachment.submission_id = submission.id
            db.session.add(
                VoucherUse(
                    submission_id=submission.id, kind="file", value=attachment.sha256, path=path
                )
            )
        else:
            db.session.add(
                VoucherUse(
                    submission_id=submission.id,
                    kind="invoice",
                    value=_normalise_invoice(value)[:128],
                    path=path,
                )
            )


def _invoice_values(template: Template, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, value) of every invoice number or file: the values of widgets that hold files."""
    registry = form_values.widgets()
    found = []
    for f in template.fields:
        columns = getattr(f, "columns", None) or []
        for column in columns:
            if registry.for_field(column).holds_files:
                for index, row in enumerate(data.get(f.key) or []):
                    value = row.get(column.key)
                    if value:
                        found.append((f"{f.key}[{index}].{column.key}", str(value)))
        if registry.for_field(f).holds_files and data.get(f.key):
            found.append((f.key, str(data[f.key])))
    return found


@dataclass(frozen=True)
class DuplicateVoucher:
    path: str
    other_number: str
    other_id: int


def duplicate_vouchers(submission: Submission) -> list[DuplicateVoucher]:
    """Invoices of this submission already used on another live claim (the submissions it
    revises, and its own revisions, are the same claim)."""
    mine = db.session.scalars(
        select(VoucherUse).where(VoucherUse.submission_id == submission.id)
    ).all()
    found: list[DuplicateVoucher] = []
    same_claim = revisions.family(submission) if mine else {submission.id}
    for use in mine:
        other = db.session.execute(
            select(Submission.number, Submission.id)
            .join(VoucherUse, VoucherUse.submission_id == Submission.id)
            .where(
                VoucherUse.kind == use.kind,
                VoucherUse.value == use.value,
                Submission.id.not_in(same_claim),
                Submission.status.notin_([SubmissionStatus.REJECTED, SubmissionStatus.WITHDRAWN]),
            )
            .limit(1)
        ).first()
        if other is not None:
            found.append(DuplicateVoucher(use.path, other[0], other[1]))
    return found


# --- autosave ---------------------------------------------------------------------------------
_PATH = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)(?:\[(?P<row>\d+)\](?:\.(?P<column>[\w-]+))?)?")


@dataclass
class Autosaved:
    """What an autosave kept: the draft (new or changed), and the typed values it could not
    keep yet (not valid so far), by path, so the page can say what still needs work."""

    submission: Submission
    created: bool
    changed: bool
    unsaved: list[Detail]


def _drop_invalid(data: dict[str, Any], problems: list[Detail]) -> bool:
    """Take the values named by ``problems`` out of ``data``; False when none could be."""
    dropped = False
    for problem in problems:
        match = _PATH.match(problem.path)
        if match is None or match["key"] not in data:
            continue
        key, row, column = match["key"], match["row"], match["column"]
        rows = data[key]
        if row is not None and column is not None and isinstance(rows, list):
            index = int(row)
            if index < len(rows) and isinstance(rows[index], dict) and column in rows[index]:
                rows[index] = {**rows[index], column: ""}
                dropped = True
                continue
        del data[key]
        dropped = True
    return dropped


def autosave(
    user: User,
    template_key: str,
    submission_id: int | None,
    data: Any,
    version: Any,
    *,
    today: date | None = None,
) -> Autosaved:
    """Keep what the person has typed so far as a draft: a new form becomes a draft on its
    first save, a draft takes the change (``version`` must match, as for any change). Values
    not valid yet are left out (and reported), so half-typed input never blocks the rest;
    completeness and rules wait for Submit. A save that changes nothing writes nothing."""
    if not isinstance(data, dict):
        raise Invalid("Please check the form.", [Detail("data", "must be an object of values")])
    data = {k: (list(v) if isinstance(v, list) else v) for k, v in data.items()}
    unsaved: list[Detail] = []
    for _attempt in range(5):
        try:
            # Invalid is raised before anything is written, so trying again is safe.
            if submission_id is None:
                submission = create(user, template_key, data, today=today)
                return Autosaved(submission, True, True, unsaved)
            loaded = load(user, submission_id)
            if loaded.submission.template.key != template_key:
                raise NotFound("No such submission, or it is outside your scope.")
            if _unchanged(user, loaded, data, today):
                check_version(loaded.submission, version)
                return Autosaved(loaded.submission, False, False, unsaved)
            submission = update(user, submission_id, data, version, today=today)
            return Autosaved(submission, False, True, unsaved)
        except Invalid as exc:
            if not _drop_invalid(data, exc.details):
                raise
            unsaved.extend(exc.details)
    raise Invalid("Please correct the highlighted fields.", unsaved)


def _unchanged(user: User, loaded: Loaded, data: dict[str, Any], today: date | None) -> bool:
    """Would saving ``data`` leave the stored draft as it is?"""
    outcome = form_values.process(
        loaded.template,
        data,
        previous=loaded.submission.data,
        access=loaded.access,
        extra=submitter_facts(user),
        ctx=ParseContext(today=today or _local_today()),
    )
    return not outcome.errors and outcome.data == loaded.submission.data


# --- lists ------------------------------------------------------------------------------
def list_query(
    user: User,
    *,
    form: str | None = None,
    status: str | None = None,
    department: str | None = None,
    mine: bool = False,
) -> Select[Any]:
    """Submissions the user may see, newest first, filtered; each row's form, department and
    submitter come with the page in one query each, however many rows it has."""
    stmt = (
        select(Submission)
        .where(access.submission_filter(user))
        .options(
            selectinload(Submission.template),
            selectinload(Submission.department),
            selectinload(Submission.submitter),
        )
    )
    if mine:
        stmt = stmt.where(access.own_submissions(user))
    if form:
        stmt = stmt.join(FormTemplate, FormTemplate.id == Submission.template_id).where(
            FormTemplate.key == form
        )
    if status:
        try:
            stmt = stmt.where(Submission.status == SubmissionStatus(status))
        except ValueError:
            raise Invalid(
                "Invalid filter.",
                [
                    Detail(
                        "status", "must be one of " + ", ".join(s.value for s in SubmissionStatus)
                    )
                ],
            ) from None
    if department:
        dept = db.session.scalar(select(Department).where(Department.code == department))
        if dept is None:
            raise Invalid(
                "Invalid filter.", [Detail("department", f"unknown department {department}")]
            )
        stmt = stmt.where(
            Submission.department_id.in_(
                select(Department.id).where(Department.path.startswith(dept.path, autoescape=True))
            )
        )
    return stmt.order_by(Submission.created_at.desc(), Submission.id.desc())
