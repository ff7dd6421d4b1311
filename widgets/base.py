"""What every widget is: a field model that is part of the template format, plus the code that
turns whatever a browser, an API client or a spreadsheet sends into one canonical value.

A widget module owns all of a field type's behaviour, so adding a type is one new file (see
`registry.py`). The form runtime, the renderers and the designer only talk to the `Widget`
interface below and never switch on `field.type` themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ._masking import MaskRule, apply_mask

__all__ = [
    "Bilingual",
    "ExportValue",
    "FieldBase",
    "FieldValueError",
    "MaskRule",
    "Option",
    "OptionsFrom",
    "PaletteEntry",
    "StrictModel",
    "ParseContext",
    "Widget",
    "localized",
]

#: Field keys are names in formulas (`SUM(lines.amount)`), so they are identifiers: no hyphens.
FIELD_KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


def _check_field_key(value: str) -> str:
    if not re.fullmatch(FIELD_KEY_PATTERN, value):
        raise PydanticCustomError(
            "field_key",
            "must start with a lowercase letter and contain only lowercase letters, digits "
            "and underscores (it is used as a name in formulas)",
        )
    return value


class StrictModel(BaseModel):
    """Unknown keys are mistakes in a hand-written template, so every format model forbids them."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Bilingual(StrictModel):
    """Text shown to people, in both languages Quire ships with."""

    zh: str = Field(min_length=1, max_length=2000)
    """Chinese (简体中文)."""
    en: str = Field(min_length=1, max_length=2000)
    """English."""

    def text(self, locale: str) -> str:
        return localized(self, locale)


def localized(text: Bilingual | None, locale: str) -> str:
    """Pick the language for a locale such as "zh_CN", "zh" or "en"; English is the fallback."""
    if text is None:
        return ""
    return text.zh if locale.lower().startswith("zh") else text.en


class Option(StrictModel):
    """One choice of a select: the stored value and what people see."""

    value: str = Field(min_length=1, max_length=200)
    """Stored in submissions and used in formulas; never shown."""
    label: Bilingual
    """What people see."""


class OptionsFrom(StrictModel):
    """Choices read from one of the template's data sources at run time."""

    source: str = Field(min_length=1, max_length=64)
    """Key of a data source declared in the template's `data_sources`."""
    value_column: str = Field(default="value", min_length=1, max_length=100)
    """Column whose value is stored."""
    label_column: str = Field(default="label", min_length=1, max_length=100)
    """Column shown to people."""


class FieldBase(StrictModel):
    """What every field of a template has, whatever its widget."""

    key: str = Field(min_length=1, max_length=64)
    """The field's name in submissions, formulas, layout and permissions."""
    type: str
    """The widget type, for example `money` or `table`."""
    label: Bilingual
    """The field's caption."""
    help: Bilingual | None = None
    """A hint shown under the input."""
    required: bool = False
    """A value must be given before the form can be submitted."""
    default: str | bool | int | None = None
    """Initial value: a literal, or a formula when the text starts with `=` (`=TODAY()`,
    `=submitter.department`)."""
    readonly: bool = False
    """Shown but never changed by people; the server keeps the default or computed value."""

    @field_validator("key")
    @classmethod
    def _key_is_an_identifier(cls, value: str) -> str:
        return _check_field_key(value)

    @property
    def default_formula(self) -> str | None:
        """The default's formula text without the leading `=`, or None for a literal default."""
        if isinstance(self.default, str) and self.default.startswith("="):
            return self.default[1:]
        return None


class FieldValueError(ValueError):
    """A value a person or a client sent cannot be stored; `message` is a sentence for them.

    `path` addresses the bad part when it is inside the field (`lines[2].amount`); None means the
    field itself. `errors` lists every problem found (itself when there is only one), so a table
    or an uploaded workbook can show all bad cells at once.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.errors: list[FieldValueError] = [self]

    @classmethod
    def collect(cls, errors: list[FieldValueError]) -> FieldValueError:
        """One exception standing for several, led by the first."""
        first = errors[0]
        combined = cls(first.message, first.path)
        combined.errors = list(errors)
        return combined

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class ParseContext:
    """What parsing needs from the outside world, passed in rather than read from globals.

    `source_values` holds, per data source key, the values currently allowed (the runtime loads
    them); a source missing here is not checked.
    """

    today: date = field(default_factory=date.today)
    source_values: dict[str, frozenset[str]] = field(default_factory=dict)


class ExportValue(NamedTuple):
    """A typed cell value for spreadsheets and the number format the renderer should apply."""

    value: Any
    excel_format: str


class PaletteEntry(BaseModel):
    """How the designer's palette shows a widget and the config a new field starts with."""

    model_config = ConfigDict(frozen=True)

    category: Literal["basic", "number", "date", "choice", "organisation", "advanced", "layout"]
    icon: str
    defaults: dict[str, Any] = Field(default_factory=dict)


class Widget:
    """One field type. Subclasses set the class attributes and implement `parse_value`.

    Methods take the field model (the field's config in the template) and a value; the widget
    instance itself holds no per-field state, so one instance serves every template.
    """

    type_name: ClassVar[str]
    label: ClassVar[dict[str, str]]
    palette: ClassVar[PaletteEntry]
    FieldModel: ClassVar[type[FieldBase]]
    #: The `excel_format` hint renderers receive.
    excel_format: ClassVar[str] = "text"
    #: False for layout-only widgets (static text, headers) that store nothing.
    has_value: ClassVar[bool] = True
    #: True when the server computes the value and ignores what clients send.
    computed: ClassVar[bool] = False
    #: Whether the widget may be a column of a table.
    can_be_column: ClassVar[bool] = True

    # -- lifecycle -------------------------------------------------------------------------------
    def bind(self, registry: Any) -> None:
        """Called once the registry knows every widget; containers (tables) use it to learn
        which widgets may be their columns."""

    # -- values ----------------------------------------------------------------------------------
    def parse(self, field: FieldBase, raw: Any, ctx: ParseContext | None = None) -> Any:
        """Turn what was sent (JSON, a form string, a spreadsheet cell) into the canonical value.

        Blank input becomes None, or a "required" error; everything else goes to `parse_value`.
        """
        if not self.has_value or self.computed:
            return None
        if _is_blank(raw):
            if field.required:
                raise FieldValueError(f"{self.name_of(field)} is required")
            return None
        return self.parse_value(field, raw, ctx or ParseContext())

    def parse_value(self, field: FieldBase, raw: Any, ctx: ParseContext) -> Any:
        """Parse a non-blank value; raise FieldValueError with a sentence for the clerk."""
        raise NotImplementedError

    def to_json(self, field: FieldBase, value: Any) -> Any:
        """The canonical JSON value (strings for money and dates, so nothing passes a float)."""
        return value

    def display(self, field: FieldBase, value: Any, locale: str) -> str:
        """Text for the web page and the PDF print copy."""
        if value is None:
            return ""
        return str(value)

    def export_value(self, field: FieldBase, value: Any) -> ExportValue:
        """The typed value a spreadsheet cell should hold, with its format hint."""
        return ExportValue(value, self.excel_format)

    def mask(self, field: FieldBase, value: Any) -> str:
        """What a viewer with `masked` access sees: the field's mask rule applied to the
        displayed text, or a fixed `****` when the field has no rule (which leaks no length)."""
        if value is None:
            return ""
        rule = getattr(field, "mask", None)
        text = self.display(field, value, "en")
        if not isinstance(rule, MaskRule):
            return "****"
        return apply_mask(text, rule)

    def form_field(self, field: FieldBase, locale: str) -> Any:
        """The WTForms unbound field the form runtime puts on its form class (None if nothing is
        entered). Inputs are text so the server's `parse` is the one judge of a value."""
        from wtforms import StringField

        return StringField(**self.form_field_kwargs(field, locale))

    # -- helpers for subclasses ------------------------------------------------------------------
    def form_field_kwargs(self, field: FieldBase, locale: str) -> dict[str, Any]:
        return {
            "label": localized(field.label, locale),
            "description": localized(field.help, locale),
            "render_kw": {"readonly": True} if field.readonly else {},
        }

    @staticmethod
    def name_of(field: FieldBase) -> str:
        """How error sentences name a field: its English label."""
        return field.label.en


def _is_blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    if isinstance(raw, list | tuple | dict):
        return len(raw) == 0
    return False
