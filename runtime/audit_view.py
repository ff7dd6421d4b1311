"""The audit trail as a reader may see it.

Events are stored as recorded, so `quire audit verify` can recompute every hash; the masking
happens here, when events are shown. The values of a submission's fields in its events
(``submission.update`` and the like) follow the same rules as every other view of that
submission for this reader (`access.field_access`): a masked bank account is masked, a hidden
field is left out, and a submission the reader may not see shows no values at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from . import access
from .extensions import db
from .models import AuditEvent, Submission, User

__all__ = ["HIDDEN", "shown_changes"]

#: What stands in for a value the reader may not see.
HIDDEN = "(hidden)"
_TOP_KEY = re.compile(r"^([a-z][a-z0-9_]*)")


def shown_changes(reader: User, events: Iterable[AuditEvent]) -> dict[int, Any]:
    """``{event.id: changes}`` with submission field values masked or hidden for `reader`."""
    from .forms import service as forms_service
    from .forms import values as form_values

    views: dict[str, tuple[Any, dict[str, str]] | None] = {}
    shown: dict[int, Any] = {}
    for event in events:
        changes = event.changes
        if (
            event.object_type != "submission"
            or not isinstance(changes, dict)
            or event.object_id is None
        ):
            shown[event.id] = changes
            continue
        if event.object_id not in views:
            views[event.object_id] = _view_of(reader, event.object_id, forms_service)
        view = views[event.object_id]
        shown[event.id] = _masked(changes, view, form_values)
    return shown


def _view_of(reader: User, object_id: str | None, forms_service: Any) -> Any:
    """(template, field access) of the submission for the reader, or None if unseen."""
    if not object_id or not object_id.isascii() or not object_id.isdigit():
        return None
    submission = db.session.get(Submission, int(object_id))
    if submission is None or not access.may_read_submission(reader, submission):
        return None
    loaded = forms_service.describe(reader, submission)
    return loaded.template, loaded.access


def _masked(changes: dict[str, Any], view: Any, form_values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fields = {}
    if view is not None:
        template, levels = view
        fields = {f.key: f for f in form_values.value_fields(template)}
    for key, value in changes.items():
        match = _TOP_KEY.match(key)
        field_key = match.group(1) if match else None
        if view is None:
            out[key] = _hide(value) if field_key and not key.startswith("_") else value
            continue
        if field_key not in fields:
            out[key] = value
            continue
        level = levels.get(field_key, "read")
        if level == "hidden":
            continue
        if level == "masked":
            out[key] = _mask(value, fields[field_key], key == field_key)
        else:
            out[key] = value
    return out


def _hide(value: Any) -> Any:
    if isinstance(value, list) and len(value) == 2:
        return [HIDDEN if value[0] is not None else None, HIDDEN if value[1] is not None else None]
    return HIDDEN


def _mask(value: Any, field: Any, whole_field: bool) -> Any:
    """A masked field's old and new value, masked by its widget's own rule (the same rule as
    the form page); a value inside a masked table is hidden."""
    from quire.widgets.registry import default_registry

    widget = default_registry().for_field(field)

    def one(item: Any) -> Any:
        if item is None:
            return None
        if not whole_field:
            return HIDDEN
        try:
            return widget.mask(field, widget.parse(field, item))
        except Exception:  # noqa: BLE001 - a stored value the widget no longer reads
            return HIDDEN

    if isinstance(value, list) and len(value) == 2:
        return [one(value[0]), one(value[1])]
    return one(value)
