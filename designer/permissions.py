"""What a template's permissions mean: the access one person has to one field right now.

The runtime's access module asks this, so the meaning of `permissions` lives next to the
format. Order matters: the current step's own permissions apply to its approvers first, then
the template's `permissions` in order, first match wins; a field nobody mentions is editable by
the submitter while the form is with them (`draft`, or returned) and readable otherwise.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from quire.widgets.registry import default_registry

from .model import Template
from .references import DRAFT_STEP
from .vocabulary import EVERYONE

AccessLevel = Literal["hidden", "read", "edit", "masked"]


def resolve_access(
    template: Template, field_key: str, roles: Collection[str], step: str | None
) -> AccessLevel:
    """Access to `field_key` for someone holding `roles` (role keys plus the pseudo-roles
    `submitter` and `approver` that apply to them), while the submission is at `step` (a step
    key, `draft` while it is with its submitter, None once decided)."""
    if step and "approver" in roles and template.approval:
        for approval_step in template.approval.all_steps():
            if approval_step.key == step:
                for permission in approval_step.permissions:
                    if permission.field == field_key:
                        return permission.access
    for permission in template.permissions:
        if permission.field != field_key:
            continue
        if permission.steps is not None and step not in permission.steps:
            continue
        if EVERYONE in permission.roles or set(permission.roles) & set(roles):
            return permission.access
    if "." in field_key:
        return "read"  # a column nobody names apart follows its table (see `named_columns`)
    field = template.field(field_key)
    computed = field is not None and not default_registry().for_field(field).editable(field)
    if step == DRAFT_STEP and "submitter" in roles and not computed:
        return "edit"
    return "read"


def named_columns(template: Template) -> list[str]:
    """Table columns (`lines.category`) that some permission names on their own."""
    named = {p.field for p in template.permissions if "." in p.field}
    for step in template.approval.all_steps() if template.approval else ():
        named |= {p.field for p in step.permissions if "." in p.field}
    return sorted(named)
