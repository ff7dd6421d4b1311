"""What every widget is: a field model that is part of the template format, plus the code that
turns whatever a browser, an API client or a spreadsheet sends into one canonical value, and
the Jinja macros that draw it.

A widget module owns all of a field type's behaviour, so adding a type is one new file (see
`registry.py` and `docs/widgets.md`). The form runtime, the renderers and the designer only talk
to the `Widget` interface below and never switch on `field.type` themselves; a structural test
(`tests/widgets/test_no_type_switches.py`) holds that.

What a widget module owns:

- **config**: `FieldModel`, the pydantic model of the field in a template;
- **values**: `parse_value` (browser, API and spreadsheet input), `to_json`, `display`, `mask`;
- **input from a web form**: `from_form` (which posted names make the value);
- **rendering**: `macros`, Jinja source defining any of `render_input`, `render_readonly`,
  `render_print` and `render_design`; each takes one `FieldView` (`w`). What a widget leaves
  out falls back: print → readonly, design → input drawn disabled, anything → the base macros.
  Callers use `quire.widgets.rendering.render(env, field, view)` (or, in Flask templates, the
  `render_widget(view)` global), never the macros directly;
- **spreadsheets**: `excel_format`, `export_value`, `excel_width`, `workbook_hint`,
  `list_values` and `from_cell` (the offline workbook and the Excel print copy);
- **the designer palette**: `label` (zh/en), `palette` (category, icon, default config), listed
  by `WidgetRegistry.palette()`;
- **capabilities** the runtime asks instead of type names: `has_value`, `computed`, `repeats`
  (rows of columns), `holds_files` (attachments and invoice numbers), `can_be_column`,
  `connector_type`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal, NamedTuple, Protocol, get_args

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ._masking import MaskRule, apply_mask

__all__ = [
    "Bilingual",
    "BilingualText",
    "ExportValue",
    "FieldBase",
    "FieldView",
    "Lookup",
    "MISSING",
    "FieldName",
    "FieldValueError",
    "field_error",
    "MaskRule",
    "Option",
    "OptionsFrom",
    "PaletteEntry",
    "RenderMode",
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


def control_characters(text: str, *, multiline: bool = False) -> list[str]:
    """The control characters in `text` (line breaks, tabs, NUL, the Unicode line separators);
    a multi-line text may hold line breaks and tabs."""
    allowed = "\n\t" if multiline else ""
    return [c for c in text if c not in allowed and (unicodedata.category(c) in {"Cc", "Zl", "Zp"})]


class Bilingual(StrictModel):
    """Text shown to people on one line (titles, labels, names), in both languages Quire
    ships with. Control characters are refused: a line break in a title would end an email
    header, a tab or NUL would corrupt an export."""

    zh: str = Field(min_length=1, max_length=2000)
    """Chinese (简体中文)."""
    en: str = Field(min_length=1, max_length=2000)
    """English."""

    #: Whether line breaks are allowed (`BilingualText`).
    multiline: ClassVar[bool] = False

    @field_validator("zh", "en")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        found = control_characters(value, multiline=cls.multiline)
        if found:
            shown = ", ".join(sorted({f"U+{ord(c):04X}" for c in found}))
            if cls.multiline:
                raise PydanticCustomError(
                    "control_characters",
                    "must not contain control characters ({shown})",
                    {"shown": shown},
                )
            raise PydanticCustomError(
                "control_characters",
                "must be one line, without line breaks or control characters ({shown})",
                {"shown": shown},
            )
        return value

    def text(self, locale: str) -> str:
        return localized(self, locale)

    def both(self) -> str:
        """Both languages at once, for what is read by people of either (spreadsheets)."""
        return self.zh if self.zh == self.en else f"{self.zh} {self.en}"


class BilingualText(Bilingual):
    """Longer text shown to people (descriptions, help, static text): line breaks allowed."""

    multiline: ClassVar[bool] = True


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
    help: BilingualText | None = None
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


class FieldName(str):
    """A field's name in an error sentence: English as text, its label in any language."""

    label: Any

    def __new__(cls, label: Any) -> FieldName:
        name = super().__new__(cls, label.en)
        name.label = label
        return name

    def in_locale(self, locale: str) -> str:
        return localized(self.label, locale)


def field_error(msgid: str, path: str | None = None, **params: Any) -> FieldValueError:
    """An error whose sentence is in the catalogue (``make translations`` extracts `msgid`):
    English in ``message`` for logs and tests, the reader's language through `translated`."""
    english = {
        key: value.message if isinstance(value, FieldValueError) else value
        for key, value in params.items()
    }
    return FieldValueError(msgid % english, path, msgid=msgid, params=params)


class FieldValueError(ValueError):
    """A value a person or a client sent cannot be stored; `message` is a sentence for them.

    `path` addresses the bad part when it is inside the field (`lines[2].amount`); None means the
    field itself. `errors` lists every problem found (itself when there is only one), so a table
    or an uploaded workbook can show all bad cells at once.
    """

    def __init__(
        self,
        message: str,
        path: str | None = None,
        *,
        msgid: str | None = None,
        params: dict[str, Any] | None = None,
        wording: Bilingual | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.errors: list[FieldValueError] = [self]
        #: The catalogue's English text (``%(name)s is required``) and its values, so the
        #: runtime can say it in the reader's language (`translated`); None for plain text.
        self.msgid = msgid
        self.params = params or {}
        #: A template author's own sentence in both languages (a pattern's message).
        self.wording = wording

    def translated(self, gettext: Any, locale: str) -> str:
        """The sentence in the reader's language: `gettext` is the runtime's catalogue lookup;
        field names read in `locale` (their label), nested errors are translated too."""
        if self.wording is not None:
            return localized(self.wording, locale)
        if self.msgid is None:
            return self.message
        values = {}
        for key, value in self.params.items():
            if isinstance(value, FieldValueError):
                values[key] = value.translated(gettext, locale)
            elif isinstance(value, FieldName):
                values[key] = value.in_locale(locale)
            else:
                values[key] = value
        return gettext(self.msgid) % values

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
    them); a source missing here is not checked. `organisation_values` does the same for the
    organisation's records a picker names (`department`, `user`, `role`: see `names_record`).
    """

    today: date = field(default_factory=date.today)
    source_values: dict[str, frozenset[str]] = field(default_factory=dict)
    organisation_values: dict[str, frozenset[str]] = field(default_factory=dict)


class ExportValue(NamedTuple):
    """A typed cell value for spreadsheets and the number format the renderer should apply."""

    value: Any
    excel_format: str


#: Palette categories, in the order the designer shows them.
PaletteCategory = Literal["basic", "number", "date", "choice", "organisation", "advanced", "layout"]
CATEGORY_ORDER: tuple[str, ...] = get_args(PaletteCategory)


class PaletteEntry(BaseModel):
    """How the designer's palette shows a widget and the config a new field starts with."""

    model_config = ConfigDict(frozen=True)

    category: PaletteCategory
    icon: str
    defaults: dict[str, Any] = Field(default_factory=dict)


#: How a field is drawn: an input to fill in, a value to read on the page, a value on the PDF
#: print copy, or a placeholder on the designer's canvas (looks like the input, does nothing).
RenderMode = Literal["input", "readonly", "print", "design"]
RENDER_MODES: tuple[RenderMode, ...] = ("input", "readonly", "print", "design")


class Lookup(Protocol):
    """What a widget may ask the runtime while presenting a field (the runtime reads the
    database; widgets never do). Every answer is a list of `(value, label)` pairs."""

    def departments(self) -> list[tuple[str, str]]:
        """Active departments: code, "code name"."""
        ...

    def users(self) -> list[tuple[str, str]]:
        """Users who have not left: username, "username · name"."""
        ...

    def roles(self) -> list[tuple[str, str]]:
        """Roles of the organisation: key, "key name"."""
        ...

    def source_options(self, field: FieldBase) -> list[tuple[str, str]] | None:
        """Choices from the data source the field names; None when it cannot be read now."""
        ...

    def attachment_name(self, value: str) -> str | None:
        """The file name of an uploaded attachment id, or None when the value is no upload."""
        ...


class _Missing:
    """A web form sent nothing for a field (not even an empty string)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


@dataclass
class FieldView:
    """Everything a widget's macro needs to draw one field, or one cell of a table, in one mode.

    The caller (the form page, the print copy, the designer's canvas) resolves access and
    values first, so a macro only lays out HTML: `text` is already localised and masked.
    """

    field: FieldBase
    mode: RenderMode
    #: The input's name and id: the field key, `lines-2-amount` in a table.
    name: str
    #: What the input shows (input and design modes): what was typed, else the stored JSON.
    value: Any = ""
    #: The value as people read it (readonly and print modes), localised, masked if need be.
    text: str = ""
    masked: bool = False
    #: `(value, label)` choices for selects and pickers; None when the widget has none, or its
    #: data source cannot be read right now (`unavailable` then says so).
    choices: list[tuple[str, str]] | None = None
    unavailable: bool = False
    locale: str = "en"
    #: True inside a table cell (no caption, compact read-only text).
    cell: bool = False
    #: Where a file upload posts (the runtime's URL); None where uploads are not possible.
    upload_url: str | None = None
    #: The label of an uploaded file the value names.
    attachment: str | None = None
    #: Uploaded files the value names, as the runtime serves them (input and readonly modes):
    #: `{id, name, size (text), url, preview_url (images and PDFs), preview ("image"/"pdf")}`.
    files: list[dict[str, Any]] = field(default_factory=list)
    #: Where the input's "remove" button asks for an empty slot (input mode, with `files`).
    remove_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Attributes the runtime puts on the input: an accessible name for a table cell
    #: (`aria-label`), `aria-invalid` and `aria-describedby` when the value was refused, and
    #: `autofocus` on the first cell of a row just added. A macro writes them with `w.attrs`.
    input_attrs: dict[str, str] = field(default_factory=dict)

    @property
    def design(self) -> bool:
        return self.mode == "design"

    @property
    def disabled(self) -> Markup:
        """` disabled` on the designer's canvas, where inputs are pictures of themselves."""
        return Markup(" disabled") if self.design else Markup("")

    @property
    def attrs(self) -> Markup:
        """`input_attrs` as HTML attributes (escaped), each with a leading space."""
        return Markup("").join(
            Markup(' {}="{}"').format(name, value) for name, value in self.input_attrs.items()
        )

    @property
    def label(self) -> str:
        return localized(self.field.label, self.locale)

    def child(self, column: FieldBase, row: int = 0) -> FieldView:
        """The view of one cell of a table's column, in the same mode (`lines-0-amount`)."""
        return FieldView(
            column, self.mode, f"{self.name}-{row}-{column.key}", locale=self.locale, cell=True
        )

    def say(self, zh: str, en: str) -> str:
        """Text of the widget's own, in the viewer's language (widgets carry both)."""
        return zh if self.locale.lower().startswith("zh") else en


#: The macros every widget starts from; a widget's `macros` override them one by one.
BASE_MACROS = """
{% macro render_input(w) -%}
<input type="text" name="{{ w.name }}" id="{{ w.name }}" value="{{ w.value }}" autocomplete="off"
       {%- if w.design %} disabled{% endif %}{{ w.attrs }}>
{%- endmacro %}
{% macro render_readonly(w) -%}
{% if w.cell %}{{ w.text }}{% else -%}
<div class="readonly{% if w.masked %} masked{% endif %}" id="value-{{ w.name }}">
  {{- w.text or '—' -}}
</div>
{%- endif %}
{%- endmacro %}
{% macro render_print(w) -%}
{{ render_readonly(w) }}
{%- endmacro %}
{% macro render_design(w) -%}
{{ render_input(w) }}
{%- endmacro %}
"""


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
    #: True for layout widgets that title what follows (a section header) rather than say
    #: something to read (static text); both store nothing.
    heading: ClassVar[bool] = False
    #: True for containers of rows whose `columns` are other widgets' fields (tables).
    repeats: ClassVar[bool] = False
    #: True when values name uploaded files or invoice numbers: they are listed on the print
    #: copy and checked for duplicate use across claims.
    holds_files: ClassVar[bool] = False
    #: Column type when the `submissions` connector exposes the field (`money`, `number`,
    #: `date`, `boolean`, `text`); None keeps the field out of connector rows.
    connector_type: ClassVar[str | None] = "text"
    #: The organisation record a value names (`department`, `user`), for approval rules that
    #: route by a field; None for everything else.
    names_record: ClassVar[str | None] = None
    #: Column width in the offline workbook, in characters.
    excel_width: ClassVar[int] = 28
    #: Jinja source of the widget's macros (see the module docstring); empty uses the base ones.
    macros: ClassVar[str] = ""

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
                raise field_error("%(name)s is required", name=self.name_of(field))
            return None
        return self.parse_value(field, raw, ctx or ParseContext())

    def parse_value(self, field: FieldBase, raw: Any, ctx: ParseContext) -> Any:
        """Parse a non-blank value; raise FieldValueError with a sentence for the clerk."""
        raise NotImplementedError

    def from_json(self, field: FieldBase, raw: Any) -> Any:
        """A computed value's stored JSON back to Python (what `parse` does for the others)."""
        return raw

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

    def is_numeric(self, config: Any) -> bool:
        """Does a field with this config (a model or a raw template dict) hold a number that a
        table may total?"""
        return self.excel_format in ("money", "number", "percent")

    def report_kind(self, field: FieldBase) -> str:
        """The column type a report sees for this field's values: `money`, `number`,
        `percent`, `date` or `text`."""
        kind = self.excel_format
        return kind if kind in ("money", "number", "percent", "date") else "text"

    def editable(self, field: FieldBase) -> bool:
        """Can people change this field at all? A permission granting `edit` on a field that is
        computed, read-only or stores nothing is refused by template validation."""
        return self.has_value and not self.computed and not field.readonly

    # -- presenting with what the runtime knows -------------------------------------------------
    def choices(
        self, field: FieldBase, lookup: Lookup | None, locale: str = "en"
    ) -> list[tuple[str, str]] | None:
        """`(value, label)` choices the input offers; None for widgets typed in freely."""
        return None

    def present(self, field: FieldBase, value: Any, locale: str, lookup: Lookup | None) -> str:
        """Display text with what only the runtime knows (a department's name, a file name)."""
        return self.display(field, value, locale)

    # -- web forms -------------------------------------------------------------------------------
    def from_form(self, field: FieldBase, name: str, form: Any, getlist: Any = None) -> Any:
        """The raw value a posted HTML form holds for the field drawn under `name`, or
        `MISSING` when the form did not carry it (the stored value is then kept)."""
        return form.get(name) if name in form else MISSING

    # -- spreadsheets ----------------------------------------------------------------------------
    def workbook_hint(self, field: FieldBase) -> str:
        """What to type, in both languages, beside the input cell of the offline workbook."""
        return ""

    def list_values(self, field: FieldBase, lookup: Lookup | None) -> list[str] | None:
        """Values for the workbook cell's drop-down list; None for free input."""
        return None

    def from_cell(self, field: FieldBase, value: Any) -> Any:
        """A spreadsheet cell's value as `parse` takes it (the parser stays the judge)."""
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, datetime):
            if value.time() == datetime.min.time():
                return value.date().isoformat()
            return value.isoformat(sep=" ")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    # -- the designer ----------------------------------------------------------------------------
    def palette_item(self) -> dict[str, Any]:
        """The palette entry the designer shows: type, label zh/en, icon, category and the
        config a new field starts with."""
        return {
            "type": self.type_name,
            "label": dict(self.label),
            "icon": self.palette.icon,
            "category": self.palette.category,
            "defaults": dict(self.palette.defaults),
            "has_value": self.has_value,
            "can_be_column": self.can_be_column,
        }

    # -- helpers for subclasses ------------------------------------------------------------------
    def form_field_kwargs(self, field: FieldBase, locale: str) -> dict[str, Any]:
        return {
            "label": localized(field.label, locale),
            "description": localized(field.help, locale),
            "render_kw": {"readonly": True} if field.readonly else {},
        }

    @staticmethod
    def name_of(field: FieldBase) -> FieldName:
        """How error sentences name a field: its label (English as text)."""
        return FieldName(field.label)


def _is_blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    if isinstance(raw, list | tuple | dict):
        return len(raw) == 0
    return False
