"""What the report designer does to a report draft, one typed operation at a time.

Each operation is a pydantic model (told apart by ``op``) that changes a report document (a
dict, the draft as stored); the page sends them from its forms, and the result is saved as the
draft through the same draft store, version lock, undo and history as the form designer. An
operation that does not fit the document (an index out of range, a step of an unknown type)
raises :class:`ReportOpError` with the path of what is wrong; a document that is merely
incomplete (a filter on a column the source does not give) is saved and its problems are
shown at their paths, as a finance admin fixes them one by one.

Pure: no Flask, no database.
"""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from quire.widgets.base import Bilingual, StrictModel

from .report import (
    ColumnKind,
    PivotStep,
    ReportChart,
    ReportColumn,
    ReportLayout,
    ReportParameter,
    ReportStep,
)

__all__ = [
    "STEP_TYPES",
    "ReportOp",
    "ReportOpError",
    "apply_report_ops",
    "blank_report",
    "parse_report_ops",
    "step_fields",
]

#: Every step type by its ``op``, in the order the designer offers them.
STEP_TYPES: dict[str, type[BaseModel]] = {
    get_args(member.model_fields["op"].annotation)[0]: member
    for member in get_args(get_args(ReportStep)[0])
}

_SLUG = re.compile(r"[^a-z0-9]+")


class ReportOpError(ValueError):
    """An operation that cannot apply; ``path`` says where (``ops[0].index``)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


SourceKind = Literal["submissions", "approvals", "datasource"]


class SetSource(StrictModel):
    """Where the rows come from: a form's submissions (optionally one row per line of a
    table), the approval tasks, or a configured data source."""

    op: Literal["set_source"]
    kind: SourceKind
    form: str | None = Field(default=None, max_length=64)
    lines: str | None = Field(default=None, max_length=64)
    statuses: list[str] = Field(default_factory=list, max_length=6)
    source: str | None = Field(default=None, max_length=64)
    """Key of the configured data source (``datasource``)."""


class AddStep(StrictModel):
    """A new step of type ``type`` with its defaults, at the end or at ``index``."""

    op: Literal["add_step"]
    type: str = Field(max_length=32)
    index: int | None = Field(default=None, ge=0)
    values: dict[str, Any] = Field(default_factory=dict)


class SetStep(StrictModel):
    """Replace the settings of step ``index`` (its type stays)."""

    op: Literal["set_step"]
    index: int = Field(ge=0)
    values: dict[str, Any]


class RemoveStep(StrictModel):
    op: Literal["remove_step"]
    index: int = Field(ge=0)


class MoveStep(StrictModel):
    """Move step ``index`` one place up (``by: -1``) or down (``by: 1``)."""

    op: Literal["move_step"]
    index: int = Field(ge=0)
    by: Literal[-1, 1]


class AddColumn(StrictModel):
    op: Literal["add_column"]
    key: str = Field(min_length=1, max_length=64)
    label: Bilingual | None = None
    type: ColumnKind = "text"


class SetColumn(StrictModel):
    """Replace column ``index`` with ``values`` (a report column)."""

    op: Literal["set_column"]
    index: int = Field(ge=0)
    values: dict[str, Any]


class RemoveColumn(StrictModel):
    op: Literal["remove_column"]
    index: int = Field(ge=0)


class MoveColumn(StrictModel):
    op: Literal["move_column"]
    index: int = Field(ge=0)
    by: Literal[-1, 1]


class SetChart(StrictModel):
    """The report's chart, or none (``values: null``)."""

    op: Literal["set_chart"]
    values: dict[str, Any] | None


class SetLayout(StrictModel):
    """Totals, subtotals and export settings (PDF orientation and paper, Excel sheet name)."""

    op: Literal["set_layout"]
    values: dict[str, Any]


class SetParameter(StrictModel):
    """Add (``index`` null) or replace a parameter; ``values: null`` removes it."""

    op: Literal["set_parameter"]
    index: int | None = Field(default=None, ge=0)
    values: dict[str, Any] | None


class SetTitle(StrictModel):
    op: Literal["set_title"]
    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)


ReportOp = Annotated[
    SetSource
    | AddStep
    | SetStep
    | RemoveStep
    | MoveStep
    | AddColumn
    | SetColumn
    | RemoveColumn
    | MoveColumn
    | SetChart
    | SetLayout
    | SetParameter
    | SetTitle,
    Field(discriminator="op"),
]
_OPS = TypeAdapter(list[ReportOp])


def parse_report_ops(raw: Any) -> list[Any]:
    """The typed operations of a request; ReportOpError at the first wrong one."""
    try:
        return _OPS.validate_python(raw)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        path = "ops" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise ReportOpError(first["msg"], path) from None


def blank_report(key: str, title: Bilingual) -> dict[str, Any]:
    """A new report: approved expense-claim lines, department and amount, summed."""
    return {
        "key": key,
        "kind": "report",
        "title": title.model_dump(),
        "data_sources": [
            {
                "key": "rows",
                "connector": "submissions",
                "config": {"form": "expense-claim", "lines": "lines", "statuses": ["approved"]},
            }
        ],
        "datasets": [{"key": "rows", "source": "rows"}],
        "transforms": [
            {"op": "group", "by": ["department"], "aggregates": {"amount": "sum(amount)"}}
        ],
        "columns": [
            {"key": "department", "label": {"zh": "部门代码", "en": "Dept. code"}},
            {"key": "department_name", "label": {"zh": "部门", "en": "Department"}},
            {"key": "amount", "label": {"zh": "金额", "en": "Amount"}, "type": "money"},
        ],
    }


def apply_report_ops(document: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """A new document with ``ops`` applied in order (the input is not changed)."""
    doc = copy.deepcopy(document)
    for position, op in enumerate(ops):
        try:
            _apply(doc, op)
        except ReportOpError as error:
            raise ReportOpError(error.message, f"ops[{position}]{error.path}") from None
    return doc


def _item(items: list[Any], index: int, what: str) -> Any:
    if not 0 <= index < len(items):
        raise ReportOpError(f"there is no {what} {index + 1}", ".index")
    return items[index]


def _checked(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as ``model`` accepts them, defaults left out; ReportOpError otherwise."""
    try:
        parsed = model.model_validate(values)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise ReportOpError(first["msg"], f".values{where}") from None
    return parsed.model_dump(mode="json", exclude_defaults=True, by_alias=True) | (
        {"op": values["op"]} if "op" in values else {}
    )


def _apply(doc: dict[str, Any], op: Any) -> None:
    steps: list[Any] = doc.setdefault("transforms", [])
    columns: list[Any] = doc.setdefault("columns", [])
    match op:
        case SetSource():
            doc["data_sources"] = [_source(op)]
            dataset = (doc.get("datasets") or [{}])[0]
            doc["datasets"] = [{**dataset, "key": "rows", "source": "rows"}]
            _bind_parameters(doc)
        case AddStep():
            model = STEP_TYPES.get(op.type)
            if model is None:
                raise ReportOpError(f'unknown step type "{op.type}"', ".type")
            step = {"op": op.type, **_starter(op.type), **op.values}
            where = len(steps) if op.index is None else min(op.index, len(steps))
            steps.insert(where, step)
        case SetStep():
            current = _item(steps, op.index, "step")
            model = STEP_TYPES[current["op"]]
            steps[op.index] = _checked(model, {**op.values, "op": current["op"]})
        case RemoveStep():
            _item(steps, op.index, "step")
            del steps[op.index]
        case MoveStep():
            _move(steps, op.index, op.by, "step")
        case AddColumn():
            label = op.label or Bilingual(zh=op.key, en=op.key)
            column = {"key": op.key, "label": label.model_dump(), "type": op.type}
            columns.append(_checked(ReportColumn, column))
        case SetColumn():
            _item(columns, op.index, "column")
            columns[op.index] = _checked(ReportColumn, op.values)
        case RemoveColumn():
            _item(columns, op.index, "column")
            del columns[op.index]
        case MoveColumn():
            _move(columns, op.index, op.by, "column")
        case SetChart():
            doc["charts"] = [] if op.values is None else [_checked(ReportChart, op.values)]
        case SetLayout():
            doc["report"] = _checked(ReportLayout, {**(doc.get("report") or {}), **op.values})
        case SetParameter():
            parameters: list[Any] = doc.setdefault("parameters", [])
            if op.index is None:
                if op.values is not None:
                    parameters.append(_checked(ReportParameter, op.values))
            elif op.values is None:
                _item(parameters, op.index, "parameter")
                del parameters[op.index]
            else:
                _item(parameters, op.index, "parameter")
                parameters[op.index] = _checked(ReportParameter, op.values)
            _bind_parameters(doc)
        case SetTitle():
            doc["title"] = {"zh": op.zh, "en": op.en}


#: Parameters a scoped source filters by itself (in SQL), when the report has them.
SOURCE_FILTERS = ("year", "month", "department", "status")


def _bind_parameters(doc: dict[str, Any]) -> None:
    """Pass the report's year, month, department and status parameters to its datasets, so
    the source reads only those rows; a parameter removed stops being passed."""
    declared = {p.get("key") for p in doc.get("parameters") or []}
    for dataset in doc.get("datasets") or []:
        params = dataset.setdefault("params", {})
        for name in SOURCE_FILTERS:
            if name in declared:
                params[name] = f"={name}"
            elif params.get(name) == f"={name}":
                del params[name]
        if not params:
            del dataset["params"]


def _source(op: SetSource) -> dict[str, Any]:
    if op.kind == "submissions":
        if not op.form:
            raise ReportOpError("choose a form", ".form")
        config: dict[str, Any] = {"form": op.form}
        if op.lines:
            config["lines"] = op.lines
        if op.statuses:
            config["statuses"] = op.statuses
        return {"key": "rows", "connector": "submissions", "config": config}
    if op.kind == "approvals":
        return {"key": "rows", "connector": "approvals"}
    if not op.source:
        raise ReportOpError("choose a data source", ".source")
    return {"key": "rows", "connector": "datasource", "config": {"source": op.source}}


def _move(items: list[Any], index: int, by: int, what: str) -> None:
    _item(items, index, what)
    target = index + by
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]


def _starter(kind: str) -> dict[str, Any]:
    """Required settings of a new step, filled so it can be edited in place."""
    starters: dict[str, dict[str, Any]] = {
        "filter": {"where": "TRUE"},
        "compute": {"column": "computed", "formula": "0"},
        "rename": {"columns": {"old": "new"}},
        "group": {"by": ["department"], "aggregates": {"amount": "sum(amount)"}},
        "sort": {"by": ["department"]},
        "top": {"n": 10, "by": "amount"},
        "join": {"dataset": "rows", "on": ["department"]},
        "pivot": {"rows": ["department"], "columns": "month", "values": "amount"},
    }
    return starters.get(kind, {})


# --- the step forms -----------------------------------------------------------------------------


def step_fields(step: dict[str, Any]) -> list[dict[str, Any]]:
    """The inputs that edit ``step``, read from its model: name, input kind (``text``,
    ``list``, ``map``, ``bool``, ``choice``, ``number``, ``bilingual``, ``thresholds``),
    choices and the current value as the input shows it."""
    model = STEP_TYPES[step["op"]]
    out = []
    for name, info in model.model_fields.items():
        if name == "op":
            continue
        kind, choices = _input_kind(info.annotation)
        value = step.get(name, info.get_default(call_default_factory=True))
        out.append(
            {
                "name": name,
                "kind": kind,
                "choices": choices,
                "value": _shown(kind, value),
                "help": info.description or "",
                "required": info.is_required(),
            }
        )
    return out


def _input_kind(annotation: Any) -> tuple[str, list[str]]:
    text = str(annotation)
    origin = get_origin(annotation)
    if origin is Literal:
        return "choice", [str(a) for a in get_args(annotation)]
    if annotation is bool:
        return "bool", []
    if annotation is int:
        return "number", []
    if "dict[str, str]" in text:
        return "map", []
    if "list[str]" in text:
        return "list", []
    if "Bilingual" in text:
        return "bilingual", []
    if "ReportThresholds" in text:
        return "thresholds", []
    args = [a for a in get_args(annotation) if a is not type(None)]
    if len(args) == 1 and get_origin(args[0]) is Literal:
        return "choice", ["", *(str(a) for a in get_args(args[0]))]
    return "text", []


def _shown(kind: str, value: Any) -> Any:
    if value is None:
        return "" if kind not in ("bilingual", "thresholds") else {}
    if kind == "list":
        return ", ".join(value) if isinstance(value, list) else str(value)
    if kind == "map":
        return "\n".join(f"{k} = {v}" for k, v in value.items())
    if kind in ("bilingual", "thresholds") and isinstance(value, BaseModel):
        return value.model_dump()
    return value


def step_values(step_op: str, form: dict[str, Any]) -> dict[str, Any]:
    """A step's settings from the page's form fields (``name``, ``name.zh``,
    ``thresholds.amber``…); empty inputs leave a setting at its default."""
    values: dict[str, Any] = {}
    for field in step_fields({"op": step_op}):
        name, kind = field["name"], field["kind"]
        if kind == "bool":
            values[name] = form.get(name) in ("on", "true", "1", True)
            continue
        if kind in ("bilingual", "thresholds"):
            parts = ("zh", "en") if kind == "bilingual" else ("amber", "red")
            given = {p: str(form.get(f"{name}.{p}") or "").strip() for p in parts}
            if any(given.values()):
                # One half given: the other follows it (red from amber, English from Chinese).
                first, second = parts
                given[first] = given[first] or given[second]
                given[second] = given[second] or given[first]
                values[name] = given
            continue
        raw = form.get(name)
        if raw is None or str(raw).strip() == "":
            continue
        text = str(raw).strip()
        if kind == "list":
            values[name] = [part.strip() for part in text.split(",") if part.strip()]
        elif kind == "map":
            pairs = [line.split("=", 1) for line in text.splitlines() if "=" in line]
            values[name] = {k.strip(): v.strip() for k, v in pairs if k.strip()}
        elif kind == "number":
            values[name] = int(text) if text.lstrip("-").isdigit() else text
        else:
            values[name] = text
    if step_op == "pivot" and "total" not in values:
        values["total"] = PivotStep.model_fields["total"].default
    return values


def new_key(title: str, taken: set[str]) -> str:
    """A template key from an English title, unique among ``taken``."""
    base = _SLUG.sub("-", title.lower()).strip("-")[:40] or "report"
    if not base[0].isalpha():
        base = f"report-{base}"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key
