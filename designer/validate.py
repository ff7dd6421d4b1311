"""Template validation: every problem at once, each with a JSON path and a plain sentence.

Used by the designer on save, by `POST /api/v1/templates/validate`, by
`quire templates validate FILE` and before a template is published.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from pydantic import ValidationError

from quire.widgets.base import FieldBase, FieldValueError
from quire.widgets.registry import default_registry

from .issues import Issue, TemplateInvalid, join_path
from .messages import issues_from_validation_error
from .model import Template
from .print_text import PrintTextError, render_print_text, sample_context
from .references import DRAFT_STEP, check_references
from .report_checks import SourceShape, check_report

__all__ = ["Issue", "TemplateInvalid", "load_template", "validate_template"]

logger = logging.getLogger(__name__)

#: Reported when the cross-reference checks themselves fail on a malformed document.
INCOMPLETE = "the template could not be checked completely; please correct the other problems"


def validate_template(
    doc: object,
    roles: Collection[str] | None = None,
    *,
    source_shape: SourceShape | None = None,
) -> list[Issue]:
    """All problems of a template document (parsed JSON); an empty list means it is valid.

    `roles`: the role keys that exist (default: Quire's built-in roles). ``source_shape``
    describes the columns of a report's data sources (the runtime knows its forms); without it
    a report's sources are taken to give any column.
    Never raises for bad input: whatever a client sends comes back as issues.
    """
    return _validate(doc, roles, source_shape)[1]


def load_template(doc: object, roles: Collection[str] | None = None) -> Template:
    """The Template model of a valid document; raises TemplateInvalid listing every issue."""
    template, issues = _validate(doc, roles)
    if issues or template is None:
        raise TemplateInvalid(issues)
    return template


def _validate(
    doc: object,
    roles: Collection[str] | None = None,
    source_shape: SourceShape | None = None,
) -> tuple[Template | None, list[Issue]]:
    if isinstance(doc, Template):
        doc = doc.model_dump(mode="json", by_alias=True)
    if not isinstance(doc, dict):
        return None, [Issue("", "a template must be a JSON object")]
    template: Template | None = None
    try:
        template = Template.model_validate(doc)
        issues: list[Issue] = []
    except ValidationError as exc:
        issues = issues_from_validation_error(exc, doc, Template)
    except (RecursionError, ValueError) as exc:  # pathological input pydantic refuses to walk
        issues = [Issue("", f"the template cannot be read: {exc.__class__.__name__}")]
    try:
        issues += check_references(doc, roles)
    except RecursionError:
        issues.append(Issue("", "the template is nested too deeply to check"))
    except (TypeError, ValueError, KeyError, AttributeError):
        # A bug in the checks must not turn a client's mistake into a server error; it is
        # logged, and the fuzz tests assert this message never appears.
        logger.exception("cross-reference checks failed")
        issues.append(Issue("", INCOMPLETE))
    if doc.get("kind") == "form" and isinstance(doc.get("fields"), list) and not doc["fields"]:
        issues.append(Issue("fields", "a form needs at least one field"))
    if template is not None:
        issues += _check_literal_defaults(template)
        issues += _check_print_texts(template)
        issues += check_report(template, source_shape)
        issues += _check_edit_permissions(template)
    return (template if not issues else None), _unique(issues)


def _check_print_texts(template: Template) -> list[Issue]:
    """A print header or footer must render within the sandbox's limits (checked with values
    shaped like a real copy's), or every print copy of the form would fail."""
    issues = []
    for name in ("header", "footer"):
        try:
            render_print_text(getattr(template.print, name), sample_context())
        except PrintTextError as exc:
            issues.append(Issue(join_path("print", name), f"cannot be printed: {exc}"))
    return issues


def _check_literal_defaults(template: Template) -> list[Issue]:
    """A literal default must be a value its own widget accepts (`"abc"` is no amount)."""
    registry = default_registry()
    issues: list[Issue] = []

    def check(field: FieldBase, path: tuple[str | int, ...]) -> None:
        widget = registry.for_field(field)
        if field.default is None or field.default_formula is not None or widget.computed:
            return
        try:
            widget.parse(field, field.default)
        except FieldValueError as exc:
            issues.append(Issue(join_path(*path, "default"), f"not a valid default: {exc.message}"))

    for index, field in enumerate(template.fields):
        check(field, ("fields", index))
        for col_index, column in enumerate(getattr(field, "columns", None) or ()):
            check(column, ("fields", index, "columns", col_index))
    return issues


def _check_edit_permissions(template: Template) -> list[Issue]:
    """Refuse what the runtime could not honour: `edit` on a value people cannot change
    (computed, read-only, layout), `edit` for approvers before anyone approves (`draft`), and
    a table column given anything but `edit` (a column may be opened for correction in
    existing lines; hiding or masking applies to the whole table)."""
    registry = default_registry()
    issues: list[Issue] = []

    def check(
        key: str, access: str, path: tuple[str | int, ...], approvers_at: list[str] | None
    ) -> None:
        table_key, _dot, column_key = key.partition(".")
        field = template.field(table_key)
        if field is None:
            return  # reported by the reference checks
        if column_key:
            column = field.column(column_key) if hasattr(field, "column") else None
            if access != "edit":
                issues.append(
                    Issue(
                        join_path(*path, "access"),
                        f'a table column can only be opened for editing; make "{table_key}" '
                        f"{access} as a whole instead",
                    )
                )
                return
            field = column if column is not None else field
        if access == "edit" and not registry.for_field(field).editable(field):
            why = (
                "is computed by Quire"
                if registry.for_field(field).computed
                else ("is read-only" if field.readonly else "holds no value")
            )
            issues.append(
                Issue(join_path(*path, "access"), f'"{key}" {why}, so nobody can edit it')
            )
        elif access == "edit" and approvers_at is not None and approvers_at == [DRAFT_STEP]:
            issues.append(
                Issue(
                    join_path(*path, "steps"),
                    "approvers edit at their own step; before submission there is no approver",
                )
            )

    for index, permission in enumerate(template.permissions):
        only_approvers = set(permission.roles) == {"approver"}
        check(
            permission.field,
            permission.access,
            ("permissions", index),
            permission.steps if only_approvers and permission.steps else None,
        )
    for step, place in template.approval.places() if template.approval else ():
        for p, permission in enumerate(step.permissions):
            check(permission.field, permission.access, (*place.path, "permissions", p), None)
    return issues


def _unique(issues: list[Issue]) -> list[Issue]:
    return list(dict.fromkeys(issues))
