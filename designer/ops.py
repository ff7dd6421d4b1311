"""The designer's operations: every change to a draft is one of these, applied to the JSON document.

Drag and drop, keyboard commands, the property panel, the permission matrix, the route editor,
the JSON view and API clients all send the same operations, so autosave, undo/redo and
conflict detection (see `drafts`) work the same for each. An operation is a pydantic model
(checked as it arrives); its result must still be a well-formed template (`Template`), while
cross-references (a formula naming a field that is not there yet) are allowed in a draft and
reported as problems to fix before publishing.

Nothing here knows about forms specifically beyond fields, layout, permissions and the route:
the same functions serve any template kind (a report designer adds its own operations to the
union the same way).
"""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any, Literal, Union

from pydantic import Field, TypeAdapter, ValidationError

from quire.widgets.base import Bilingual, StrictModel
from quire.widgets.registry import WidgetRegistry, default_registry

from .approval import Access
from .issues import Issue, TemplateInvalid
from .messages import issues_from_validation_error
from .model import Template

#: Roles whose holders see every finance field in full (the "finance sees all" preset).
FINANCE_ROLES = ("finance_admin", "finance_reviewer", "cfo")

#: Properties a field's editor may set, as dotted paths into the field's JSON.
_PROPERTY = re.compile(r"^[a-z_]+(\.[a-z_]+)?$")


class OpError(ValueError):
    """An operation cannot be applied; `path` names what is wrong in the operation."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message, self.path = message, path


# --- positions ------------------------------------------------------------------------------
class At(StrictModel):
    """A place on the canvas: cell `index` of row `row` in section `section`, or, with
    `new_row`, a new row inserted before row `row`."""

    section: int = Field(ge=0)
    row: int = Field(ge=0)
    index: int = Field(default=0, ge=0)
    new_row: bool = False


class InTable(StrictModel):
    """A place among a table's columns."""

    table: str = Field(min_length=1, max_length=64)
    index: int | None = Field(default=None, ge=0)
    """Before which column; unset appends."""


# --- the operations -------------------------------------------------------------------------
class AddField(StrictModel):
    """A new field of widget `type` (from the palette), at a place or into a table."""

    op: Literal["add_field"]
    type: str = Field(min_length=1, max_length=64)
    at: At | InTable | None = None
    """Unset: a new row at the end of the last section."""
    label: Bilingual | None = None
    key: str | None = Field(default=None, max_length=64)


class MoveField(StrictModel):
    """A field (or a table column, `lines.amount`) to another place, in or out of a table."""

    op: Literal["move_field"]
    key: str = Field(min_length=1, max_length=130)
    at: At | InTable


class StepField(StrictModel):
    """The keyboard's move: one place up or down (a field's row, or a column among columns)."""

    op: Literal["step_field"]
    key: str = Field(min_length=1, max_length=130)
    direction: Literal["up", "down"]


class RemoveField(StrictModel):
    op: Literal["remove_field"]
    key: str = Field(min_length=1, max_length=130)


class DuplicateField(StrictModel):
    op: Literal["duplicate_field"]
    key: str = Field(min_length=1, max_length=130)


class SetField(StrictModel):
    """One property of a field: `label.en`, `required`, `options`, `mask`, `key`…; a null
    value removes it. Changing `label.en` of a field never published renames its key too
    while the key still follows the label."""

    op: Literal["set_field"]
    key: str = Field(min_length=1, max_length=130)
    name: str = Field(min_length=1, max_length=64, pattern=_PROPERTY.pattern)
    value: Any = None


class SetSpan(StrictModel):
    """How many of the row's 12 columns a field takes."""

    op: Literal["set_span"]
    key: str = Field(min_length=1, max_length=64)
    span: int = Field(ge=1, le=12)


class SetPermission(StrictModel):
    """One cell of the permission matrix: a role's (or, with `step`, an approval step's)
    access to a field; null access goes back to the default."""

    op: Literal["set_permission"]
    field: str = Field(min_length=1, max_length=64)
    role: str | None = Field(default=None, max_length=64)
    step: str | None = Field(default=None, max_length=64)
    access: Access | None = None


class ApplyPreset(StrictModel):
    """A ready-made row of the matrix. `finance_only`: finance roles and the submitter see the
    field, everyone else sees it masked. `submitter_and_finance`: the same, others do not see
    it at all. `default`: every role cell cleared."""

    op: Literal["apply_preset"]
    field: str = Field(min_length=1, max_length=64)
    preset: Literal["finance_only", "submitter_and_finance", "default"]


class AddStep(StrictModel):
    """A step into the route, or, with `group` and `branch`, into a branch of a parallel
    group (`index` then counts within the branch)."""

    op: Literal["add_step"]
    step: dict[str, Any] | None = None
    """The step's JSON; unset: a manager's approval with a fresh key."""
    index: int | None = Field(default=None, ge=0)
    group: str | None = Field(default=None, max_length=64)
    branch: int | None = Field(default=None, ge=0)


class MoveStep(StrictModel):
    """A step (or a parallel group, by its key) to place `index` of the route, or, with
    `group` and `branch`, of that branch."""

    op: Literal["move_step"]
    key: str = Field(min_length=1, max_length=64)
    index: int | None = Field(default=None, ge=0)
    """Unset: at the end."""
    group: str | None = Field(default=None, max_length=64)
    branch: int | None = Field(default=None, ge=0)


class AddGroup(StrictModel):
    """A parallel group (并行分支) at place `index` of the route (unset: at the end): two
    branches, each with one new step."""

    op: Literal["add_group"]
    index: int | None = Field(default=None, ge=0)


class RemoveGroup(StrictModel):
    """A parallel group and every step in its branches."""

    op: Literal["remove_group"]
    key: str = Field(min_length=1, max_length=64)


class AddBranch(StrictModel):
    """One more branch, with one new step, at the end of a group."""

    op: Literal["add_branch"]
    group: str = Field(min_length=1, max_length=64)


class RemoveBranch(StrictModel):
    """A branch and its steps. Removing one of the last two branches dissolves the group:
    the other branch's steps take its place in the route, its condition carried onto them."""

    op: Literal["remove_branch"]
    group: str = Field(min_length=1, max_length=64)
    branch: int = Field(ge=0)


class SetBranch(StrictModel):
    """A branch's `when` (a formula) or `name.zh` / `name.en`; null removes it."""

    op: Literal["set_branch"]
    group: str = Field(min_length=1, max_length=64)
    branch: int = Field(ge=0)
    name: Literal["when", "name.zh", "name.en"]
    value: str | None = None


class SetGroup(StrictModel):
    """A group's `name.zh` or `name.en`."""

    op: Literal["set_group"]
    key: str = Field(min_length=1, max_length=64)
    name: Literal["name.zh", "name.en"]
    value: str | None = None


class RemoveStep(StrictModel):
    op: Literal["remove_step"]
    key: str = Field(min_length=1, max_length=64)


class SetStep(StrictModel):
    """One property of a step: `name.zh`, `assignee`, `mode`, `required`, `when`, `due`,
    `on_timeout`, `key`; null removes it."""

    op: Literal["set_step"]
    key: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64, pattern=_PROPERTY.pattern)
    value: Any = None


class SetApproval(StrictModel):
    """The route's own rule: `auto_approve_when` (a formula; null removes it)."""

    op: Literal["set_approval"]
    name: Literal["auto_approve_when"]
    value: str | None = None


class AddSection(StrictModel):
    op: Literal["add_section"]
    title: Bilingual | None = None
    index: int | None = Field(default=None, ge=0)


class SetSection(StrictModel):
    """A section's `title.zh`, `title.en` or `collapsed`."""

    op: Literal["set_section"]
    index: int = Field(ge=0)
    name: Literal["title.zh", "title.en", "collapsed"]
    value: Any = None


class MoveSection(StrictModel):
    op: Literal["move_section"]
    index: int = Field(ge=0)
    to: int = Field(ge=0)


class RemoveSection(StrictModel):
    """Removes a section; its rows move to the section before (or after) it."""

    op: Literal["remove_section"]
    index: int = Field(ge=0)


class SetTemplate(StrictModel):
    """The template's own `title.zh`, `title.en`, `description.zh`, `description.en`."""

    op: Literal["set_template"]
    name: Literal["title.zh", "title.en", "description.zh", "description.en"]
    value: str | None = None


class ReplaceDocument(StrictModel):
    """The whole document at once (the JSON view)."""

    op: Literal["replace_document"]
    document: dict[str, Any]


Op = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs the Union spelling inside Annotated
        AddField,
        MoveField,
        StepField,
        RemoveField,
        DuplicateField,
        SetField,
        SetSpan,
        SetPermission,
        ApplyPreset,
        AddStep,
        MoveStep,
        RemoveStep,
        SetStep,
        SetApproval,
        AddGroup,
        RemoveGroup,
        AddBranch,
        RemoveBranch,
        SetBranch,
        SetGroup,
        AddSection,
        SetSection,
        MoveSection,
        RemoveSection,
        SetTemplate,
        ReplaceDocument,
    ],
    Field(discriminator="op"),
]

_OPS = TypeAdapter(list[Op])


def parse_ops(raw: Any) -> list[Any]:
    """The typed operations of a request body's `ops`; TemplateInvalid with `ops[i]…` paths."""
    try:
        return _OPS.validate_python(raw)
    except ValidationError as exc:
        raise TemplateInvalid(
            [Issue(f"ops{_path(e['loc'])}", e["msg"]) for e in exc.errors()]
        ) from None


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


# --- applying -------------------------------------------------------------------------------
def apply_ops(
    doc: dict[str, Any],
    ops: list[Any],
    *,
    locked_keys: frozenset[str] = frozenset(),
    registry: WidgetRegistry | None = None,
) -> dict[str, Any]:
    """The document after `ops`, in order (the input is not changed).

    `locked_keys` are field keys of published versions: submissions store values under them,
    so they can no longer be renamed. Raises OpError for an operation that does not fit the
    document, TemplateInvalid when the result is not a well-formed template.
    """
    work = _Draft(copy.deepcopy(doc), locked_keys, registry or default_registry())
    for index, op in enumerate(ops):
        try:
            getattr(work, op.op)(op)
        except OpError as exc:
            raise OpError(
                exc.message, f"ops[{index}]" + (f".{exc.path}" if exc.path else "")
            ) from None
    return structurally_valid(work.doc)


def structurally_valid(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` if it is a well-formed template (types, required properties); else TemplateInvalid."""
    try:
        Template.model_validate(doc)
    except ValidationError as exc:
        raise TemplateInvalid(issues_from_validation_error(exc, doc, Template)) from None
    return doc


def slug(text: str) -> str:
    """A field key from an English label: `Travel date` → `travel_date`."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    key = "_".join(words)[:60]
    if not key or not key[0].isalpha():
        key = f"field_{key}" if key else "field"
    return key


def field_keys(doc: dict[str, Any]) -> list[str]:
    """Every field key in the document, table columns as `table.column`."""
    keys = []
    for f in doc.get("fields", []):
        keys.append(f["key"])
        keys += [f"{f['key']}.{c['key']}" for c in f.get("columns") or []]
    return keys


class _Draft:
    """One document being changed by a list of operations (each method is one operation)."""

    def __init__(self, doc: dict[str, Any], locked: frozenset[str], registry: WidgetRegistry):
        self.doc, self.locked, self.registry = doc, locked, registry
        self.doc.setdefault("fields", [])
        self._ensure_layout()

    # -- finding things --------------------------------------------------------------------
    def _ensure_layout(self) -> None:
        """A template without sections shows its fields one per row; the designer makes that
        explicit so it has somewhere to drop things."""
        layout = self.doc.setdefault("layout", {})
        sections = layout.setdefault("sections", [])
        if not sections and self.doc.get("kind", "form") == "form":
            sections.append(
                {"rows": [{"cells": [{"field": f["key"]}]} for f in self.doc["fields"]]}
            )

    @property
    def sections(self) -> list[dict[str, Any]]:
        return self.doc["layout"]["sections"]

    def _field(self, key: str) -> tuple[list[dict[str, Any]], int]:
        """The list holding the field (the template's fields, or a table's columns) and its
        index there."""
        table_key, _, column_key = key.partition(".")
        for index, f in enumerate(self.doc["fields"]):
            if f["key"] == table_key:
                if not column_key:
                    return self.doc["fields"], index
                columns = f.get("columns")
                if columns is None:
                    break
                for col_index, c in enumerate(columns):
                    if c["key"] == column_key:
                        return columns, col_index
        raise OpError(f"there is no field {key!r}", "key")

    def _table(self, key: str) -> dict[str, Any]:
        owner, index = self._field(key)
        table = owner[index]
        if "columns" not in table:
            raise OpError(f"{key!r} is not a table", "at.table")
        return table

    def _cell(self, key: str) -> tuple[int, int, int] | None:
        for s, section in enumerate(self.sections):
            for r, row in enumerate(section.get("rows", [])):
                for c, cell in enumerate(row["cells"]):
                    if cell["field"] == key:
                        return s, r, c
        return None

    def _all_keys(self) -> set[str]:
        return {k.rpartition(".")[2] for k in field_keys(self.doc)} | set(field_keys(self.doc))

    def _unique(self, base: str, siblings: set[str] | None = None) -> str:
        taken = siblings if siblings is not None else self._all_keys()
        base = base[:60]
        if base not in taken:
            return base
        n = 2
        while f"{base}_{n}" in taken:
            n += 1
        return f"{base}_{n}"

    # -- layout helpers --------------------------------------------------------------------
    def _take_cell(self, key: str) -> dict[str, Any]:
        """Remove the field's cell from the layout (and its row if it empties); return it."""
        found = self._cell(key)
        if found is None:
            return {"field": key}
        s, r, c = found
        rows = self.sections[s]["rows"]
        cell = rows[r]["cells"].pop(c)
        if not rows[r]["cells"]:
            rows.pop(r)
        return cell

    def _place(self, cell: dict[str, Any], at: At | None) -> None:
        if not self.sections:
            self.sections.append({"rows": []})
        if at is None:
            self.sections[-1].setdefault("rows", []).append({"cells": [cell]})
            return
        if at.section >= len(self.sections):
            raise OpError("there is no such section", "at.section")
        rows = self.sections[at.section].setdefault("rows", [])
        if at.new_row or at.row >= len(rows):
            rows.insert(min(at.row, len(rows)), {"cells": [cell]})
            return
        cells = rows[at.row]["cells"]
        if sum(c.get("span", 12) for c in cells) + cell.get("span", 12) > 12:
            # Make room: the row's fields share the 12 columns evenly.
            share = max(1, 12 // (len(cells) + 1))
            for c in cells:
                c["span"] = share
            cell["span"] = share
        cells.insert(min(at.index, len(cells)), cell)

    # -- fields ----------------------------------------------------------------------------
    def new_field(self, type_name: str, key: str | None, label: Bilingual | None) -> dict[str, Any]:
        if type_name not in self.registry:
            raise OpError(f"there is no widget {type_name!r}; choose one of the palette", "type")
        widget = self.registry[type_name]
        names = (
            widget.label if isinstance(widget.label, dict) else {"zh": type_name, "en": type_name}
        )
        text = label.model_dump() if label else {"zh": names["zh"], "en": names["en"]}
        field = {
            "key": self._unique(key or slug(text["en"])),
            "type": type_name,
            "label": text,
            **copy.deepcopy(widget.palette.defaults),
        }
        return _complete(field, widget)

    def add_field(self, op: AddField) -> None:
        field = self.new_field(op.type, op.key, op.label)
        if isinstance(op.at, InTable):
            self._insert_column(field, op.at)
        else:
            self.doc["fields"].append(field)
            self._place({"field": field["key"]}, op.at)

    def _insert_column(self, field: dict[str, Any], at: InTable) -> None:
        table = self._table(at.table)
        if "." in at.table:
            raise OpError("a table cannot hold another table", "at.table")
        widget = self.registry[field["type"]] if field["type"] in self.registry else None
        if widget is None or not widget.can_be_column or "columns" in field:
            raise OpError(f"a {field['type']} field cannot be a table column", "at.table")
        field["key"] = self._unique(field["key"], {c["key"] for c in table["columns"]})
        columns = table["columns"]
        columns.insert(len(columns) if at.index is None else min(at.index, len(columns)), field)

    def move_field(self, op: MoveField) -> None:
        owner, index = self._field(op.key)
        in_table = "." in op.key
        if isinstance(op.at, InTable):
            if not in_table and op.key == op.at.table:
                raise OpError("a table cannot go into itself", "at.table")
            field = owner.pop(index)
            if not in_table:
                self._take_cell(field["key"])
                self._forget_permissions(field["key"])
            self._insert_column(field, op.at)
            return
        field = owner.pop(index)
        if in_table:
            field["key"] = self._unique(field["key"])
            self.doc["fields"].append(field)
            self._place({"field": field["key"]}, op.at)
            return
        owner.insert(index, field)
        cell = self._take_cell(op.key)
        self._place(cell, op.at)

    def step_field(self, op: StepField) -> None:
        owner, index = self._field(op.key)
        delta = -1 if op.direction == "up" else 1
        if "." in op.key:
            target = index + delta
            if 0 <= target < len(owner):
                owner.insert(target, owner.pop(index))
            return
        found = self._cell(op.key)
        if found is None:
            self._place({"field": op.key}, None)
            return
        s, r, c = found
        rows = self.sections[s]["rows"]
        if len(rows[r]["cells"]) > 1:
            # Sharing a row: step out into a row of its own, above or below.
            cell = rows[r]["cells"].pop(c)
            cell.pop("span", None)
            rows.insert(r if delta < 0 else r + 1, {"cells": [cell]})
            return
        target = r + delta
        if 0 <= target < len(rows):
            rows.insert(target, rows.pop(r))
        elif delta < 0 and s > 0:
            self.sections[s - 1].setdefault("rows", []).append(rows.pop(r))
        elif delta > 0 and s + 1 < len(self.sections):
            self.sections[s + 1].setdefault("rows", []).insert(0, rows.pop(r))

    def remove_field(self, op: RemoveField) -> None:
        owner, index = self._field(op.key)
        field = owner.pop(index)
        if "." not in op.key:
            self._take_cell(field["key"])
            self._forget_permissions(field["key"])

    def _forget_permissions(self, key: str) -> None:
        self.doc["permissions"] = [p for p in self.doc.get("permissions", []) if p["field"] != key]
        for step in self._all_steps():
            step["permissions"] = [p for p in step.get("permissions", []) if p["field"] != key]
            if not step["permissions"]:
                step.pop("permissions")

    def duplicate_field(self, op: DuplicateField) -> None:
        owner, index = self._field(op.key)
        field = copy.deepcopy(owner[index])
        siblings = {f["key"] for f in owner}
        field["key"] = self._unique(f"{field['key']}_copy", siblings if "." in op.key else None)
        field["label"] = {
            "zh": f"{field['label']['zh']}（副本）"[:2000],
            "en": f"{field['label']['en']} (copy)"[:2000],
        }
        owner.insert(index + 1, field)
        if "." not in op.key:
            found = self._cell(op.key)
            at = At(section=found[0], row=found[1] + 1, new_row=True) if found else None
            self._place({"field": field["key"]}, at)

    def set_field(self, op: SetField) -> None:
        owner, index = self._field(op.key)
        field = owner[index]
        if op.name == "key":
            self._rename(op.key, field, op.value)
            return
        if op.name == "type":
            raise OpError("a field's type cannot change; add a new field instead", "name")
        old_en = field["label"]["en"]
        _set_path(field, op.name, op.value)
        if op.name == "label.en" and isinstance(op.value, str) and op.value.strip():
            follows = field["key"] in (slug(old_en), field["type"]) or re.fullmatch(
                rf"{re.escape(slug(old_en))}_\d+", field["key"]
            )
            if follows and op.key not in self.locked:
                new_key = slug(op.value)
                if new_key != field["key"]:
                    siblings = {f["key"] for f in owner if f is not field}
                    self._rename(
                        op.key,
                        field,
                        self._unique(
                            new_key,
                            siblings
                            | (set() if "." in op.key else self._all_keys() - {field["key"]}),
                        ),
                    )

    def _rename(self, full_key: str, field: dict[str, Any], new: Any) -> None:
        if not isinstance(new, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", new or ""):
            raise OpError(
                "a key starts with a lowercase letter and has only lowercase letters, digits "
                "and underscores",
                "value",
            )
        if full_key in self.locked:
            raise OpError(
                "this key is in a published version and submissions use it; it can no longer "
                "change",
                "value",
            )
        old = field["key"]
        if new == old:
            return
        table, _, column = full_key.rpartition(".")
        if table:
            siblings = {c["key"] for c in self._table(table)["columns"]}
            if new in siblings:
                raise OpError(f"the table already has a column {new!r}", "value")
            field["key"] = new
            _rename_in_formulas(self.doc, f"{table}.{old}", f"{table}.{new}")
            return
        if new in {f["key"] for f in self.doc["fields"]}:
            raise OpError(f"there is already a field {new!r}", "value")
        field["key"] = new
        found = self._cell(old)
        if found:
            s, r, c = found
            self.sections[s]["rows"][r]["cells"][c]["field"] = new
        for p in self.doc.get("permissions", []):
            if p["field"] == old:
                p["field"] = new
        for step in self._all_steps():
            for p in step.get("permissions", []):
                if p["field"] == old:
                    p["field"] = new
            assignee = step.get("assignee") or {}
            if assignee.get("field") == old:
                assignee["field"] = new
        for rule in self.doc.get("rules", []):
            if rule.get("field") == old:
                rule["field"] = new
        _rename_in_formulas(self.doc, old, new)

    def set_span(self, op: SetSpan) -> None:
        found = self._cell(op.key)
        if found is None:
            raise OpError(f"{op.key!r} is not on the canvas", "key")
        s, r, c = found
        cells = self.sections[s]["rows"][r]["cells"]
        others = sum(cell.get("span", 12) for i, cell in enumerate(cells) if i != c)
        if others + op.span > 12:
            raise OpError(f"the row has only {12 - others} of 12 columns free", "span")
        cells[c]["span"] = op.span

    # -- permissions -----------------------------------------------------------------------
    def set_permission(self, op: SetPermission) -> None:
        self._field(op.field)
        if "." in op.field:
            raise OpError("permissions are set on a whole table, not one column", "field")
        if op.step is not None:
            step = self._step(op.step)
            entries = [p for p in step.get("permissions", []) if p["field"] != op.field]
            if op.access is not None:
                entries.append({"field": op.field, "access": op.access})
            if entries:
                step["permissions"] = entries
            else:
                step.pop("permissions", None)
            return
        if not op.role:
            raise OpError("name a role or a step", "role")
        self._set_role_cell(op.field, op.role, op.access)

    def _set_role_cell(self, field: str, role: str, access: str | None) -> None:
        permissions = self.doc.setdefault("permissions", [])
        kept = []
        for p in permissions:
            if p["field"] == field and p.get("steps") is None and role in p["roles"]:
                p = {**p, "roles": [r for r in p["roles"] if r != role]}
                if not p["roles"]:
                    continue
            kept.append(p)
        if access is not None:
            entry = {"field": field, "roles": [role], "access": access}
            if role == "*":
                kept.append(entry)  # everyone else: after every named role
            else:
                first = next(
                    (
                        i
                        for i, p in enumerate(kept)
                        if p["field"] == field and p.get("steps") is None
                    ),
                    len(kept),
                )
                kept.insert(first, entry)
        self.doc["permissions"] = kept

    def apply_preset(self, op: ApplyPreset) -> None:
        self._field(op.field)
        self.doc["permissions"] = [
            p for p in self.doc.get("permissions", []) if p["field"] != op.field
        ]
        if op.preset == "default":
            return
        others = "masked" if op.preset == "finance_only" else "hidden"
        self.doc["permissions"] += [
            {"field": op.field, "roles": ["submitter"], "steps": ["draft"], "access": "edit"},
            {"field": op.field, "roles": [*FINANCE_ROLES, "submitter"], "access": "read"},
            {"field": op.field, "roles": ["*"], "access": others},
        ]

    # -- the route -------------------------------------------------------------------------
    def _steps(self) -> list[dict[str, Any]]:
        """The route's items: steps and parallel groups."""
        approval = self.doc.get("approval")
        if approval is None:
            approval = self.doc["approval"] = {}
        return approval.setdefault("steps", [])

    def _all_steps(self) -> list[dict[str, Any]]:
        """Every step, those in a group's branches too."""
        found = []
        for item in (self.doc.get("approval") or {}).get("steps", []):
            if item.get("kind") == "parallel":
                found += [s for b in item.get("branches", []) for s in b.get("steps", [])]
            else:
                found.append(item)
        return found

    def _route_keys(self) -> set[str]:
        """Step keys and group keys: one namespace for the whole route."""
        return {s["key"] for s in self._all_steps()} | {g["key"] for g in self._groups()}

    def _groups(self) -> list[dict[str, Any]]:
        return [
            i
            for i in (self.doc.get("approval") or {}).get("steps", [])
            if i.get("kind") == "parallel"
        ]

    def _step(self, key: str) -> dict[str, Any]:
        for step in self._all_steps():
            if step["key"] == key:
                return step
        raise OpError(f"there is no step {key!r}", "step")

    def _container(self, key: str) -> list[dict[str, Any]]:
        """The list holding the step or group ``key``: the route, or a branch's steps."""
        for item in self._steps():
            if item["key"] == key:
                return self._steps()
            for branch in item.get("branches", []) if item.get("kind") == "parallel" else []:
                if any(s["key"] == key for s in branch.get("steps", [])):
                    return branch["steps"]
        raise OpError(f"there is no step {key!r}", "key")

    def _group(self, key: str) -> dict[str, Any]:
        for group in self._groups():
            if group["key"] == key:
                return group
        raise OpError(f"there is no parallel group {key!r}", "group")

    def _branch(self, group: str, branch: int, path: str = "branch") -> dict[str, Any]:
        branches = self._group(group)["branches"]
        if branch >= len(branches):
            raise OpError(f"the group {group!r} has {len(branches)} branches", path)
        return branches[branch]

    def _target(self, group: str | None, branch: int | None) -> list[dict[str, Any]]:
        """Where a step goes: the route, or a branch (both `group` and `branch` named)."""
        if group is None and branch is None:
            return self._steps()
        if group is None or branch is None:
            raise OpError("name both the group and the branch", "branch" if group else "group")
        return self._branch(group, branch).setdefault("steps", [])

    def _new_step(self, taken: set[str]) -> dict[str, Any]:
        step: dict[str, Any] = {
            "name": {"zh": "审批", "en": "Approval"},
            "assignee": {"kind": "manager_of_submitter"},
        }
        step["key"] = self._unique("step", taken)
        taken.add(step["key"])
        return step

    def add_step(self, op: AddStep) -> None:
        steps = self._target(op.group, op.branch)
        taken = self._route_keys()
        step: dict[str, Any] = (
            copy.deepcopy(op.step)
            if op.step
            else {
                "name": {"zh": "审批", "en": "Approval"},
                "assignee": {"kind": "manager_of_submitter"},
            }
        )
        step["key"] = self._unique(step.get("key") or "step", taken)
        steps.insert(len(steps) if op.index is None else min(op.index, len(steps)), step)

    def move_step(self, op: MoveStep) -> None:
        source = self._container(op.key)
        target = self._target(op.group, op.branch)
        item = next(i for i in source if i["key"] == op.key)
        if item.get("kind") == "parallel" and target is not self._steps():
            raise OpError("a parallel group cannot go inside a branch", "group")
        if source is not target and source is not self._steps() and len(source) == 1:
            raise OpError("a branch needs a step; remove the branch instead", "key")
        source.remove(item)
        target.insert(len(target) if op.index is None else min(op.index, len(target)), item)

    def remove_step(self, op: RemoveStep) -> None:
        steps = self._container(op.key)
        if steps is not self._steps() and len(steps) == 1:
            raise OpError("a branch needs a step; remove the branch instead", "key")
        steps.remove(self._step(op.key))
        self._forget_steps({op.key})

    def _forget_steps(self, keys: set[str]) -> None:
        for p in self.doc.get("permissions", []):
            if p.get("steps") and keys & set(p["steps"]):
                p["steps"] = [s for s in p["steps"] if s not in keys] or ["draft"]

    def set_step(self, op: SetStep) -> None:
        step = self._step(op.key)
        if op.name == "key":
            if not isinstance(op.value, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", op.value):
                raise OpError("a step key is lowercase letters, digits and underscores", "value")
            if op.value in self._route_keys() - {op.key}:
                raise OpError(f"there is already a step {op.value!r}", "value")
            for p in self.doc.get("permissions", []):
                if p.get("steps"):
                    p["steps"] = [op.value if s == op.key else s for s in p["steps"]]
        if op.name == "mode" and op.value != "n_of_m":
            step.pop("required", None)
        if op.name == "mode" and op.value == "n_of_m":
            step.setdefault("required", 1)
        if op.name == "due" and isinstance(op.value, dict):
            op.value = {k: v for k, v in op.value.items() if v not in (None, "", 0)} or None
        _set_path(step, op.name, op.value)

    def add_group(self, op: AddGroup) -> None:
        steps = self._steps()
        taken = self._route_keys()
        key = self._unique("parallel", taken)
        taken.add(key)
        group = {
            "kind": "parallel",
            "key": key,
            "name": {"zh": "并行审批", "en": "In parallel"},
            "branches": [{"steps": [self._new_step(taken)]}, {"steps": [self._new_step(taken)]}],
        }
        steps.insert(len(steps) if op.index is None else min(op.index, len(steps)), group)

    def remove_group(self, op: RemoveGroup) -> None:
        group = self._group(op.key)
        self._steps().remove(group)
        self._forget_steps({s["key"] for b in group["branches"] for s in b.get("steps", [])})

    def add_branch(self, op: AddBranch) -> None:
        group = self._group(op.group)
        group["branches"].append({"steps": [self._new_step(self._route_keys())]})

    def remove_branch(self, op: RemoveBranch) -> None:
        group = self._group(op.group)
        removed = self._branch(op.group, op.branch).get("steps", [])
        group["branches"].pop(op.branch)
        self._forget_steps({s["key"] for s in removed})
        if len(group["branches"]) > 1:
            return
        # One branch left is no longer parallel: its steps take the group's place, and its
        # condition goes with each of them.
        rest = group["branches"][0] if group["branches"] else {"steps": []}
        condition = rest.get("when")
        for step in rest.get("steps", []):
            if condition:
                step["when"] = (
                    f"({condition}) AND ({step['when']})" if step.get("when") else condition
                )
        route = self._steps()
        at = route.index(group)
        route[at : at + 1] = rest.get("steps", [])

    def set_branch(self, op: SetBranch) -> None:
        branch = self._branch(op.group, op.branch)
        value = op.value.strip() if isinstance(op.value, str) else None
        if op.name == "when":
            _set_path(branch, "when", value or None)
            return
        name = branch.setdefault("name", {"zh": "", "en": ""})
        name[op.name.partition(".")[2]] = value or ""
        if not name["zh"] and not name["en"]:
            branch.pop("name")
        elif not name["zh"] or not name["en"]:
            # A name is in both languages: the one not given yet follows the other.
            other = name["zh"] or name["en"]
            name["zh"], name["en"] = name["zh"] or other, name["en"] or other

    def set_group(self, op: SetGroup) -> None:
        group = self._group(op.key)
        value = (op.value or "").strip()
        if not value:
            raise OpError("a group needs a name", "value")
        group["name"][op.name.partition(".")[2]] = value

    def set_approval(self, op: SetApproval) -> None:
        approval = self.doc.get("approval")
        if approval is None:
            approval = self.doc["approval"] = {"steps": []}
        _set_path(approval, op.name, op.value.strip() if isinstance(op.value, str) else None)

    # -- sections and the template ---------------------------------------------------------
    def add_section(self, op: AddSection) -> None:
        section: dict[str, Any] = {"rows": []}
        if op.title:
            section["title"] = op.title.model_dump()
        index = len(self.sections) if op.index is None else min(op.index, len(self.sections))
        self.sections.insert(index, section)

    def set_section(self, op: SetSection) -> None:
        if op.index >= len(self.sections):
            raise OpError("there is no such section", "index")
        section = self.sections[op.index]
        if op.name.startswith("title.") and op.value:
            section.setdefault("title", {"zh": str(op.value), "en": str(op.value)})
        _set_path(section, op.name, op.value)
        title = section.get("title")
        if title is not None and not (title.get("zh") or title.get("en")):
            section.pop("title")

    def move_section(self, op: MoveSection) -> None:
        if op.index >= len(self.sections):
            raise OpError("there is no such section", "index")
        section = self.sections.pop(op.index)
        self.sections.insert(min(op.to, len(self.sections)), section)

    def remove_section(self, op: RemoveSection) -> None:
        if op.index >= len(self.sections):
            raise OpError("there is no such section", "index")
        section = self.sections.pop(op.index)
        if section.get("rows"):
            if not self.sections:
                self.sections.append({"rows": section["rows"]})
            elif op.index > 0:
                self.sections[op.index - 1].setdefault("rows", []).extend(section["rows"])
            else:
                self.sections[0]["rows"] = section["rows"] + self.sections[0].get("rows", [])

    def set_template(self, op: SetTemplate) -> None:
        if op.name.startswith("description.") and op.value:
            self.doc.setdefault("description", {"zh": op.value, "en": op.value})
        _set_path(self.doc, op.name, op.value)
        description = self.doc.get("description")
        if description is not None and not (description.get("zh") and description.get("en")):
            self.doc.pop("description")

    def replace_document(self, op: ReplaceDocument) -> None:
        if op.document.get("key") != self.doc.get("key"):
            raise OpError(
                f"the key must stay {self.doc.get('key')!r}; copy the template to make a new one",
                "document.key",
            )
        self.doc = copy.deepcopy(op.document)
        self.doc.setdefault("fields", [])
        self._ensure_layout()


def _complete(field: dict[str, Any], widget: Any) -> dict[str, Any]:
    """Give a new field what its widget requires and the palette left out (a choice list needs
    one choice, a table one column, a formula an expression), so it can be placed at once."""
    starters: dict[str, Any] = {
        "options": [{"value": "option_1", "label": {"zh": "选项 1", "en": "Option 1"}}],
        "columns": [{"key": "item", "type": "text", "label": {"zh": "项目", "en": "Item"}}],
        "expression": "0",
        "content": {"zh": "说明文字", "en": "Text"},
    }
    adapter = TypeAdapter(widget.FieldModel)
    try:
        adapter.validate_python(field)
        return field
    except ValidationError:
        pass
    for key, starter in starters.items():
        if key in widget.FieldModel.model_fields and not field.get(key):
            field[key] = copy.deepcopy(starter)
    return field


def _set_path(target: dict[str, Any], name: str, value: Any) -> None:
    head, _, tail = name.partition(".")
    if tail:
        inner = target.get(head)
        if not isinstance(inner, dict):
            if value is None:
                return
            inner = target[head] = {}
        _set_path(inner, tail, value)
        return
    if value is None or value == "":
        target.pop(head, None)
    else:
        target[head] = value


_FORMULA_KEYS = ("default", "expression", "when", "assert", "auto_approve_when")


#: A formula's pieces: text literals, names (`total`, `lines.amount`), anything else.
_TOKEN = re.compile(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?|.', re.S)


def _rename_in_formulas(doc: Any, old: str, new: str) -> None:
    """Rename a field (`total`) or column (`lines.amount`) in every formula of the document,
    leaving text literals alone."""

    def rename(text: str) -> str:
        out = []
        for token in _TOKEN.findall(text):
            if token == old or (token.startswith(old + ".") and "." not in old):
                token = new + token[len(old) :]
            out.append(token)
        return "".join(out)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _FORMULA_KEYS and isinstance(value, str):
                    if key != "default" or value.startswith("="):
                        node[key] = rename(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
