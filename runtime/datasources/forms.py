"""The data source form, built per connector type from its config model's JSON Schema.

Each top-level property of the schema becomes one input: text and numbers as text boxes
(pydantic converts and checks them), booleans as switches, enums as selects, lists of text
as one-per-line boxes, anything nested as JSON, and fields marked ``secret`` as password
boxes that are never filled in: a stored secret shows as "••••• (set)" and an empty box
keeps it. Fields the runtime sets (``runtime: true``) are not shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    Field,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from quire.plugins.base import Connector

from ..errors import Detail

PREFIX = "cfg_"


class SourceForm(FlaskForm):
    key = StringField(
        _l("Key"),
        validators=[DataRequired(), Length(max=64), Regexp(r"^[a-z][a-z0-9_-]*$")],
        description=_l("Templates name the source by this key, e.g. erp-actuals."),
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    cache_ttl_s = IntegerField(
        _l("Cache results for (seconds, 0 = never)"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=86400)],
    )
    timeout_s = IntegerField(
        _l("Give up waiting after (seconds)"),
        default=15,
        validators=[Optional(), NumberRange(min=1, max=600)],
    )
    confirm = BooleanField(_l("Yes, change it although published templates use it"))


class PreviewForm(FlaskForm):
    query = StringField(_l("Query"), validators=[Optional(), Length(max=20000)])
    params = TextAreaField(
        _l("Parameters (one name=value per line)"), validators=[Optional(), Length(max=4000)]
    )


class UploadForm(FlaskForm):
    file = FileField(
        _l("CSV or Excel file"),
        validators=[FileRequired(_l("Choose a file to upload."))],
        description=_l("A file with the same name replaces the one uploaded before."),
    )


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("Yes, delete it although published templates use it"))


@dataclass(frozen=True)
class ConfigField:
    """One input of a connector's settings."""

    name: str
    label: str
    hint: str
    #: text, number, bool, select, secret, lines or json
    kind: str
    required: bool
    choices: tuple[str, ...] = ()
    #: An example or the default, shown greyed in the empty input.
    placeholder: str = ""

    @property
    def form_name(self) -> str:
        return PREFIX + self.name


def _resolve(prop: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """The property's own schema, and whether it may be empty (``anyOf [X, null]``)."""
    options = prop.get("anyOf")
    if isinstance(options, list):
        concrete = [o for o in options if o.get("type") != "null"]
        nullable = len(concrete) < len(options)
        if len(concrete) == 1:
            return {**prop, **concrete[0]}, nullable
        return {**prop, "type": "object"}, nullable
    return prop, False


def config_fields(cls: type[Connector], language: str = "en") -> list[ConfigField]:
    """The inputs of a connector's settings, labelled in `language` ("zh" or "en") from the
    connector's `setting_words` (a setting without words shows its field name)."""
    schema = cls.config_schema()
    required = set(schema.get("required") or [])
    words = cls.words_for_settings()
    fields = []
    for name, raw in (schema.get("properties") or {}).items():
        if raw.get("runtime"):
            continue
        prop, nullable = _resolve(raw)
        kind = "text"
        choices: tuple[str, ...] = ()
        if raw.get("secret"):
            kind = "secret"
        elif "enum" in prop:
            kind, choices = "select", tuple(str(v) for v in prop["enum"])
        elif prop.get("type") == "boolean":
            kind = "bool"
        elif prop.get("type") in {"integer", "number"}:
            kind = "number"
        elif prop.get("type") == "array" and (prop.get("items") or {}).get("type") == "string":
            kind = "lines"
        elif prop.get("type") in {"array", "object"} or "$ref" in prop:
            kind = "json"
        said = words.get(name) or {}
        hint = said.get("help_zh") if language == "zh" else None
        fields.append(
            ConfigField(
                name=name,
                label=str(said.get(language) or said.get("en") or name),
                hint=str(hint or raw.get("description") or ""),
                kind=kind,
                required=name in required and not nullable,
                choices=choices,
                placeholder=_placeholder(raw),
            )
        )
    return fields


def _placeholder(prop: Mapping[str, Any]) -> str:
    if prop.get("placeholder"):
        return str(prop["placeholder"])
    default = prop.get("default")
    if default in (None, "", [], {}) or isinstance(default, bool):
        return ""
    return str(default)


def _input(field: ConfigField) -> Field:
    validators = [Optional()]
    if field.kind == "bool":
        return BooleanField(field.label, description=field.hint)
    if field.kind == "select":
        choices = [("", "—")] + [(c, c) for c in field.choices]
        # Left out or "—" means the connector's default; the config model checks the value.
        return SelectField(
            field.label,
            choices=choices,
            default="",
            description=field.hint,
            validate_choice=False,
        )
    if field.kind == "secret":
        return PasswordField(field.label, validators=validators, description=field.hint)
    if field.kind in {"lines", "json"}:
        return TextAreaField(field.label, validators=validators, description=field.hint)
    return StringField(field.label, validators=validators, description=field.hint)


def form_class(
    cls: type[Connector], language: str = "en"
) -> tuple[type[SourceForm], list[ConfigField]]:
    """A form class for a data source of connector type ``cls``, labelled in `language`."""
    fields = config_fields(cls, language)
    attributes = {f.form_name: _input(f) for f in fields}
    return type(f"{cls.__name__}SourceForm", (SourceForm,), attributes), fields


def fill(form: SourceForm, fields: list[ConfigField], config: Mapping[str, Any]) -> None:
    """Show stored settings in the inputs (never secrets)."""
    for f in fields:
        if f.kind == "secret" or f.name not in config:
            continue
        value = config[f.name]
        target = getattr(form, f.form_name)
        if f.kind == "bool":
            target.data = bool(value)
        elif f.kind == "lines":
            target.data = "\n".join(str(v) for v in value or [])
        elif f.kind == "json":
            target.data = json.dumps(value, ensure_ascii=False, indent=2)
        else:
            target.data = "" if value is None else str(value)


def read(
    form: SourceForm, fields: list[ConfigField]
) -> tuple[dict[str, Any], dict[str, str], list[Detail]]:
    """Settings and new secrets as typed; JSON that does not parse is a detail at its field."""
    values: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    problems: list[Detail] = []
    for f in fields:
        data = getattr(form, f.form_name).data
        if f.kind == "bool":
            values[f.name] = bool(data)
            continue
        text = (data or "").strip() if isinstance(data, str) or data is None else data
        if text in ("", None):
            continue
        if f.kind == "secret":
            secrets[f.name] = str(data)
        elif f.kind == "lines":
            values[f.name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif f.kind == "json":
            try:
                values[f.name] = json.loads(text)
            except ValueError:
                problems.append(Detail(f"config.{f.name}", "is not valid JSON"))
        else:
            values[f.name] = text
    return values, secrets, problems


def parse_params(text: str | None) -> tuple[dict[str, str], list[str]]:
    """``name=value`` lines into a mapping; lines without ``=`` are reported."""
    params, bad = {}, []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            bad.append(line.strip())
            continue
        params[name.strip()] = value.strip()
    return params, bad
