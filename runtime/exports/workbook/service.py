"""Offline Excel filling, the service: who may download a blank workbook or upload a filled
one, resolving the blank document for the writer, creating the draft through the form
service (the same parser as the web form and the API), and the audit trail.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from quire.designer.model import Template

from ... import access, audit
from ...errors import Forbidden, Invalid, NotFound, TooLarge
from ...extensions import db
from ...forms import service
from ...forms import templates as template_service
from ...forms import values as form_values
from ...forms.lookup import OrganisationLookup
from ...models import Submission, User
from .layout import BlankWorkbook
from .package import MAX_UPLOAD_BYTES, check_package
from .reader import read_workbook


def blank_workbook(user: User, key: str, locale: str = "zh_CN") -> BlankWorkbook:
    """The blank workbook of the latest published version, for someone who may fill it in,
    its sheets named in ``locale``."""
    record = template_service.template_by_key(key)
    if record.kind != "form":
        raise NotFound(f"{key} is not a form.")
    if not access.may_fill_forms(user):
        raise Forbidden("You are not allowed to fill in forms.")
    version, template = template_service.published(key)
    field_access = service.new_form_access(user, template)
    outcome = form_values.process(
        template,
        {},
        previous=None,
        access=field_access,
        extra=service.submitter_facts(user),
        creating=True,
    )
    editable_defaults = {
        k: v
        for k, v in outcome.data.items()
        if field_access.get(k) == "edit"
        and v not in (None, "", [])
        and not form_values.is_computed(template.field(k))
    }
    return BlankWorkbook(
        template,
        version.version,
        field_access,
        editable_defaults,
        _choices(template),
        locale=locale,
    )


def _choices(template: Template) -> dict[str, list[str]]:
    """Drop-down values per field key (``table.column`` for columns), as each widget lists."""
    fields: list[tuple[str, Any]] = []
    for f in template.fields:
        for column in getattr(f, "columns", None) or []:
            fields.append((f"{f.key}.{column.key}", column))
        fields.append((f.key, f))
    registry = form_values.widgets()
    lookup = OrganisationLookup("zh_CN")
    found: dict[str, list[str]] = {}
    for key, f in fields:
        values = registry.for_field(f).list_values(f, lookup)
        if values is not None:
            found[key] = values
    return found


def max_upload_bytes() -> int:
    return int(current_app.config.get("WORKBOOK_MAX_BYTES", MAX_UPLOAD_BYTES))


def import_workbook(user: User, key: str, content: bytes, filename: str | None) -> Submission:
    """A new draft from a filled workbook, or Invalid with every problem addressed by cell.

    Nothing is kept when any problem exists: the draft is created by the form service inside
    the caller's transaction, and rolled back here if the workbook had problems of its own.
    """
    record = template_service.template_by_key(key)
    if record.kind != "form":
        raise NotFound(f"{key} is not a form.")
    if not access.may_fill_forms(user):
        raise Forbidden("You are not allowed to fill in forms.")
    check_package(content, filename, max_upload_bytes())
    version, template = template_service.published(key)
    field_access = service.new_form_access(user, template)
    filled = read_workbook(
        content, key=key, version=version.version, template=template, field_access=field_access
    )
    problems = list(filled.problems)
    try:
        submission = service.create(user, key, filled.data)
    except Invalid as exc:
        problems += [filled.locate(d) for d in exc.details]
        submission = None
    if problems:
        db.session.rollback()
        raise Invalid(f"The workbook has {len(problems)} problem(s); nothing was saved.", problems)
    assert submission is not None
    audit.record(
        user,
        "submission.upload",
        object_type="submission",
        object_id=submission.id,
        changes={
            "form": key,
            "version": version.version,
            "number": submission.number,
            "file": (filename or "")[:200],
            "size": len(content),
            "lines": {k: len(v) for k, v in filled.rows.items()},
        },
    )
    return submission


def record_rejected_upload(
    user: User, key: str, filename: str | None, error: Invalid | TooLarge
) -> None:
    """Keep a trace of a refused upload (the caller has rolled back and commits this alone)."""
    audit.record(
        user,
        "submission.upload_refused",
        object_type="template",
        object_id=key,
        changes={
            "file": (filename or "")[:200],
            "problems": len(error.details) or 1,
            "first": error.details[0].as_dict() if error.details else error.message,
        },
    )


def record_blank_download(user: User, blank: BlankWorkbook) -> None:
    audit.record(
        user,
        "form.workbook",
        object_type="template",
        object_id=blank.template.key,
        changes={"version": blank.version},
    )
