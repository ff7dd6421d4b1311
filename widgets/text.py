"""Single-line text: names, references, bank accounts and phone numbers (which may be masked)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from ._patterns import InvalidPattern, compile_pattern, fullmatch
from .base import (
    Bilingual,
    FieldBase,
    FieldValueError,
    MaskRule,
    PaletteEntry,
    ParseContext,
    Widget,
    field_error,
)


class TextField(FieldBase):
    """One line of text."""

    type: Literal["text"]
    min_length: int = Field(default=0, ge=0, le=10000)
    """Fewest characters accepted."""
    max_length: int = Field(default=200, ge=1, le=10000)
    """Most characters accepted."""
    pattern: str | None = Field(default=None, max_length=500)
    """A regular expression the whole text must match (for account numbers, invoice numbers),
    in RE2 syntax: no back-references or look-arounds, so matching takes linear time."""
    pattern_message: Bilingual | Annotated[str, Field(max_length=500)] | None = None
    """What to tell people when the pattern does not match: `{"zh": …, "en": …}` to say it in
    each reader's language, or one text shown as written to everyone."""
    mask: MaskRule | None = None
    """How viewers with `masked` access see the value (`"bank_account"`, `"phone"` or a rule)."""

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compile_pattern(value)
            except InvalidPattern as exc:
                raise ValueError(f"is not a valid regular expression ({exc})") from None
        return value


class TextWidget(Widget):
    type_name = "text"
    label = {"zh": "单行文本", "en": "Text"}
    palette = PaletteEntry(category="basic", icon="input-cursor-text", defaults={"max_length": 200})
    FieldModel = TextField

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> str:
        return check_text(self.name_of(field), raw, field.min_length, field.max_length, field)


def check_text(name: str, raw: Any, min_length: int, max_length: int, field: Any = None) -> str:
    """Shared by text and textarea: text only, trimmed, within the length limits and pattern."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise field_error("%(name)s must be text", name=name)
    text = str(raw).strip()
    if len(text) < min_length:
        raise field_error(
            "%(name)s must be at least %(n)s characters long", name=name, n=min_length
        )
    if len(text) > max_length:
        raise field_error("%(name)s must be at most %(n)s characters long", name=name, n=max_length)
    pattern = getattr(field, "pattern", None)
    if pattern and not fullmatch(pattern, text):
        custom = getattr(field, "pattern_message", None)
        if isinstance(custom, Bilingual):
            raise FieldValueError(custom.en, wording=custom)
        if custom:
            raise FieldValueError(custom)
        raise field_error("%(name)s is not valid", name=name)
    return text


WIDGET = TextWidget()
