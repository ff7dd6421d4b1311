"""Who can see what: a person's effective rights and where each came from; a form's, a
report's or a field's audience in one department.

Nothing here decides. A person's rights are :func:`quire.runtime.access.effective_permissions`;
whether someone may read, fill in, export or how they see a field is asked of the same
functions a request would ask (:func:`~quire.runtime.access.can`,
:func:`~quire.runtime.access.may_file_for`, :func:`~quire.runtime.access.field_access`); who
approves which step is the approval engine's own assignee rule
(:func:`quire.runtime.approvals.routing.candidates`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from quire.designer.model import Template
from quire.widgets.base import localized

from .. import access
from ..access import Permission
from ..audit_words import Vocabulary, permission_words
from ..extensions import db
from ..forms import templates as template_service
from ..models import Department, FormTemplate, RoleGrant, Submission, User, UserStatus

#: How a field reads, as a word: (Chinese, English).
LEVELS: dict[str, tuple[str, str]] = {
    "edit": ("可编辑", "edit"),
    "read": ("可查看", "read"),
    "masked": ("脱敏显示", "masked"),
    "hidden": ("不可见", "hidden"),
}


def level_words(level: str, locale: str) -> str:
    words = LEVELS.get(level)
    if words is None:
        return level
    return words[1] if locale.startswith("en") else words[0]


# --- a person's rights --------------------------------------------------------------------------
@dataclass(frozen=True)
class RightRow:
    """One permission a person holds, its scope and where it came from."""

    permission: str
    permission_words: str
    scope: str
    #: False: a global permission from a scoped grant, which gives nothing.
    counts: bool
    #: "grant" or "delegation".
    source: str
    role: str
    grant_id: int | None
    #: The access request's number, or None (granted without request / a delegation).
    request: str | None
    request_id: int | None
    granted_by: str
    acting_for: str
    valid_until: Any


def rights_of(person: User, words: Vocabulary) -> list[RightRow]:
    """Everything ``person`` may do right now, one row per permission and source."""
    held = access.effective_permissions(person)
    wanted = {h.request_submission_id for h in held if h.request_submission_id}
    found = db.session.execute(
        select(Submission.id, Submission.number).where(Submission.id.in_(wanted))
    )
    numbers = {submission_id: number for submission_id, number in found}
    rows = []
    for item in held:
        grant: RoleGrant | None = item.grant
        if grant is not None:
            scope = words.scope(grant.scope_summary())
            role = words.role(grant.role.key)
            granted_by = grant.granted_by.username if grant.granted_by else ""
        else:
            scope = ""
            role = ""
            granted_by = ""
        rows.append(
            RightRow(
                permission=item.permission.value,
                permission_words=permission_words(item.permission.value, words.locale),
                scope=scope,
                counts=item.counts,
                source="grant" if grant is not None else "delegation",
                role=role,
                grant_id=grant.id if grant is not None else None,
                request=numbers.get(item.request_submission_id or 0),
                request_id=item.request_submission_id,
                granted_by=granted_by,
                acting_for=item.acting_for.username if item.acting_for is not None else "",
                valid_until=item.valid_until,
            )
        )
    return rows


# --- an object's audience -------------------------------------------------------------------------
@dataclass
class AudienceRow:
    """What one person may do with a form or report of one department."""

    user: User
    fill: bool = False
    read: bool = False
    export: bool = False
    #: Names of the approval steps their rule would give them.
    steps: list[str] = field(default_factory=list)
    #: (context, level) of the chosen field, or of every field they see masked or hidden.
    fields: list[tuple[str, str]] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return self.fill or self.read or self.export or bool(self.steps)


def _typical_submission(department: Department) -> Any:
    """A form of ``department`` by one of its people with no line manager of their own, so
    a step "the submitter's manager" falls to the department's head, as it does for most."""
    submitter = SimpleNamespace(
        id=None, department=department, department_id=department.id, manager=None
    )
    return SimpleNamespace(submitter=submitter, department=department, department_id=department.id)


def _step_people(template: Template, department: Department, locale: str) -> dict[int, list[str]]:
    """User id → names of the steps whose assignee rule names them for this department."""
    from ..approvals.routing import candidates

    found: dict[int, list[str]] = {}
    if template.approval is None:
        return found
    typical = _typical_submission(department)
    for step in template.approval.all_steps():
        for person in candidates(step, typical, {}):
            found.setdefault(person.id, []).append(localized(step.name, locale))
    return found


def _candidates() -> list[User]:
    """Everyone who could hold any right: active people with a current grant, or a
    delegation to them."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.status != UserStatus.LEFT,
                User.id.in_(select(RoleGrant.user_id).where(access.grant_is_current())),
            )
            .order_by(User.username)
        )
    )


def form_audience(
    template: Template,
    department: Department,
    locale: str,
    *,
    field_key: str | None = None,
) -> list[AudienceRow]:
    """Who fills in, reads, approves (which steps) and exports ``template``'s forms of
    ``department``, and how each sees ``field_key`` (or which fields they see masked or
    hidden): as a reader of a decided form, as an approver at their step, and on their own
    draft."""
    steps = _step_people(template, department, locale)
    step_keys = {
        localized(s.name, locale): s.key
        for s in (template.approval.all_steps() if template.approval else [])
    }
    words = {
        "reader": ("查阅", "reading"),
        "own": ("本人草稿", "own draft"),
    }
    pick = 1 if locale.startswith("en") else 0
    rows = []
    for person in _candidates():
        row = AudienceRow(
            user=person,
            fill=access.may_file_for(person, department),
            read=access.can(person, Permission.SUBMISSION_READ, department),
            export=access.can(person, Permission.REPORT_EXPORT, department),
            steps=steps.get(person.id, []),
        )
        if not row.anything:
            continue
        contexts: list[tuple[str, dict[str, str]]] = []
        if row.read:
            levels = access.field_access(
                person, template, department=department, submitter_id=None, step=None
            )
            contexts.append((words["reader"][pick], levels))
        for name in row.steps:
            levels = access.field_access(
                person,
                template,
                department=department,
                submitter_id=None,
                step=step_keys.get(name),
                is_approver=True,
            )
            contexts.append((name, levels))
        if row.fill:
            levels = access.field_access(
                person, template, department=department, submitter_id=person.id, step="draft"
            )
            contexts.append((words["own"][pick], levels))
        for context, levels in contexts:
            if field_key is not None:
                if field_key in levels:
                    row.fields.append((context, levels[field_key]))
                continue
            for key, level in levels.items():
                if level in ("masked", "hidden"):
                    row.fields.append((f"{context}: {_field_label(template, key, locale)}", level))
        rows.append(row)
    return rows


def report_audience(department: Department) -> list[AudienceRow]:
    """Who reads a report's rows of ``department``, and who exports them."""
    rows = []
    for person in _candidates():
        row = AudienceRow(
            user=person,
            read=access.can(person, Permission.REPORT_READ, department),
            export=access.can(person, Permission.REPORT_EXPORT, department),
        )
        if row.anything:
            rows.append(row)
    return rows


def _field_label(template: Template, key: str, locale: str) -> str:
    top = template.field(key.split(".", 1)[0])
    label = localized(top.label, locale) if top is not None else key
    return f"{label} ({key})"


def field_choices(template: Template, locale: str) -> list[tuple[str, str]]:
    """(key, label) of every field a permission can name, tables' named columns too."""
    from quire.designer.permissions import named_columns

    from ..forms.values import value_fields

    keys = [f.key for f in value_fields(template)] + named_columns(template)
    return [(key, _field_label(template, key, locale)) for key in keys]


def published_templates(kind: str) -> list[FormTemplate]:
    stmt = (
        select(FormTemplate)
        .where(FormTemplate.kind == kind, FormTemplate.latest_version > 0)
        .order_by(FormTemplate.key)
    )
    return list(db.session.scalars(stmt))


def published(key: str) -> tuple[FormTemplate, Template]:
    record = template_service.template_by_key(key)
    if not record.latest_version:
        from ..errors import NotFound

        raise NotFound(f"No template {key!r}.")
    _, template = template_service.published(key)
    return record, template
