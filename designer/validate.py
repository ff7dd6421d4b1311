"""Template validation: every problem at once, each with a JSON path and a plain sentence.

Used by the designer on save, by `POST /api/v1/templates/validate`, by
`quire templates validate FILE` and before a template is published.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from quire.widgets.base import FieldBase, FieldValueError
from quire.widgets.registry import default_registry

from .issues import Issue, TemplateInvalid, join_path
from .messages import issues_from_validation_error
from .model import Template
from .references import check_references
from .report_checks import SourceShape, check_report

__all__ = ["Issue", "TemplateInvalid", "load_template", "validate_template"]

logger = logging.getLogger(__name__)

#: Reported when the cross-reference checks themselves fail on a malformed document.
INCOMPLETE = "the template could not be checked completely; please correct the other problems"


def validate_template(doc: object, *, source_shape: SourceShape | None = None) -> list[Issue]:
    """All problems of a template document (parsed JSON); an empty list means it is valid.

    ``source_shape`` describes the columns of a report's data sources (the runtime knows its
    forms); without it a report's sources are taken to give any column.
    Never raises for bad input: whatever a client sends comes back as issues.
    """
    return _validate(doc, source_shape)[1]


def load_template(doc: object) -> Template:
    """The Template model of a valid document; raises TemplateInvalid listing every issue."""
    template, issues = _validate(doc)
    if issues or template is None:
        raise TemplateInvalid(issues)
    return template


def _validate(
    doc: object, source_shape: SourceShape | None = None
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
        issues += check_references(doc)
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
        issues += check_report(template, source_shape)
    return (template if not issues else None), _unique(issues)


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


def _unique(issues: list[Issue]) -> list[Issue]:
    return list(dict.fromkeys(issues))
