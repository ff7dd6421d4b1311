"""Attachment: uploaded files (invoices, receipts, contracts), stored by attachment id.

The bytes are the runtime's business; this widget decides which uploads a field accepts
(`check_upload`) and what a submission stores (the ids the upload endpoint returned).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from .base import (
    FieldBase,
    Lookup,
    PaletteEntry,
    ParseContext,
    Widget,
    field_error,
)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_SIZE = re.compile(r"[0-9]{1,15}")


class AttachmentField(FieldBase):
    """One or more uploaded files."""

    type: Literal["attachment"]
    max_size_mb: int = Field(default=10, ge=1, le=200)
    """Largest accepted file, in megabytes."""
    accept: list[str] = Field(
        default_factory=lambda: [".pdf", ".jpg", ".jpeg", ".png", ".ofd", ".xml"], max_length=50
    )
    """Accepted file name extensions (`.pdf`) or content types (`image/*`)."""
    multiple: bool = False
    """Several files may be attached."""
    max_files: int = Field(default=10, ge=1, le=100)
    """Most files when `multiple` is set."""


class AttachmentWidget(Widget):
    type_name = "attachment"
    label = {"zh": "附件", "en": "Attachment"}
    palette = PaletteEntry(
        category="advanced", icon="paperclip", defaults={"max_size_mb": 10, "accept": [".pdf"]}
    )
    FieldModel = AttachmentField
    holds_files = True
    connector_type = None
    macros = """
{% macro file_line(w, f) -%}
<span class="uploaded"><span class="icon-clip" aria-hidden="true"></span>
  {%- if f.url %}<a href="{{ f.url }}" download>{{ f.name }}</a>{% else %}{{ f.name }}{% endif %}
  <small class="muted">{{ f.size }}</small></span>
{%- endmacro %}
{% macro render_input(w) -%}
<div class="attachment" id="slot-{{ w.name }}">
  {% if w.files and w.remove_url -%}
  <input type="hidden" name="{{ w.name }}" id="{{ w.name }}" value="{{ w.value }}">
  {% for f in w.files %}{{ file_line(w, f) }}{% endfor %}
  <button type="button" class="secondary outline small" hx-get="{{ w.remove_url }}"
          hx-target="#slot-{{ w.name }}" hx-swap="outerHTML"
          aria-label="{{ w.say('移除 ', 'Remove ') }}{{ w.files[0].name }}">
    {{- w.say('移除', 'Remove') }}</button>
  {%- else -%}
  <input type="text" name="{{ w.name }}" id="{{ w.name }}" value="{{ w.value }}"
         placeholder="{{ w.say('发票号码，或上传发票', 'Invoice number, or upload') }}"
         {{- w.disabled }}{{ w.attrs }}>
  {%- endif %}
  {% if w.files and w.remove_url %}{% elif w.upload_url and not w.design -%}
  <input type="file" name="file" accept="{{ w.field.accept|join(',') }}"
         aria-label="{{ w.say('上传发票', 'Upload invoice') }}"
         hx-post="{{ w.upload_url }}" hx-encoding="multipart/form-data" hx-trigger="change"
         hx-target="#slot-{{ w.name }}" hx-swap="outerHTML" hx-include="this" hx-sync="this">
  {%- elif w.design -%}
  <input type="file" disabled aria-label="{{ w.say('上传发票', 'Upload invoice') }}">
  {%- endif %}
  {% if w.attachment and not w.files %}<small>{{ w.attachment }}</small>{% endif %}
</div>
{%- endmacro %}
{% macro render_print(w) -%}
{#- On paper a file is its name after a drawn paperclip (print.css): PDF fonts have no emoji. -#}
{% set parts = w.text.split(', ') if w.text and not w.masked else [] %}
{% if not w.cell -%}
<div class="readonly{% if w.masked %} masked{% endif %}" id="value-{{ w.name }}">
{%- endif %}
{% if w.masked or not parts %}{{ w.text or ('' if w.cell else '—') }}{% endif -%}
{% for part in parts %}{% if not loop.first %}, {% endif %}
  {%- if part.startswith('📎 ') %}<span class="file-name">{{ part[2:] }}</span>
  {%- else %}{{ part }}{% endif %}
{%- endfor %}
{%- if not w.cell %}</div>{% endif %}
{%- endmacro %}
{% macro render_readonly(w) -%}
{% if w.files -%}
<div class="attachment-files">
  {% for f in w.files %}
  {{ file_line(w, f) }}
  {% if f.preview_url %}
  <details class="attachment-preview" data-preview="{{ f.preview }}">
    <summary>{{ w.say('预览', 'Preview') }}</summary>
    {% if f.preview == "image" %}<img src="{{ f.preview_url }}" alt="{{ f.name }}" loading="lazy">
    {% else %}<iframe src="{{ f.preview_url }}" title="{{ f.name }}" loading="lazy"></iframe>
    {%- endif %}
  </details>
  {% endif %}
  {% endfor %}
</div>
{%- elif w.cell %}{{ w.text }}{% else -%}
<div class="readonly{% if w.masked %} masked{% endif %}" id="value-{{ w.name }}">
  {{- w.text or '—' -}}
</div>
{%- endif %}
{%- endmacro %}
"""

    def check_upload(self, field: Any, filename: str, size: int, content_type: str) -> None:
        """Refuse an upload this field does not take, before the runtime stores it."""
        name = self.name_of(field)
        if size > field.max_size_mb * 1024 * 1024:
            raise field_error(
                "%(name)s: files may be at most %(mb)s MB", name=name, mb=field.max_size_mb
            )
        lowered, mime = filename.lower(), content_type.lower()
        for accepted in field.accept:
            accepted = accepted.lower()
            if accepted.startswith(".") and lowered.endswith(accepted):
                return
            if accepted.endswith("/*") and mime.startswith(accepted[:-1]):
                return
            if accepted == mime:
                return
        raise field_error(
            "%(name)s: only these files are accepted: %(kinds)s",
            name=name,
            kinds=", ".join(field.accept),
        )

    def parse_value(self, field: Any, raw: Any, ctx: ParseContext) -> str | list[str]:
        """Attachment ids: a string, a list of them (`multiple`), or upload records `{id, …}`."""
        items = raw if isinstance(raw, list) else [raw]
        if len(items) > 1 and not field.multiple:
            raise field_error("%(name)s takes one file", name=self.name_of(field))
        if len(items) > field.max_files:
            raise field_error(
                "%(name)s takes at most %(n)s files", name=self.name_of(field), n=field.max_files
            )
        ids = [self._one(field, item) for item in items]
        return ids if field.multiple else ids[0]

    def _one(self, field: Any, item: Any) -> str:
        if isinstance(item, dict):
            if {"name", "size", "content_type"} <= item.keys():
                size = item["size"]
                if isinstance(size, str) and _SIZE.fullmatch(size):
                    size = int(size)
                if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                    raise field_error(
                        "%(name)s: the file size must be bytes", name=self.name_of(field)
                    )
                self.check_upload(field, str(item["name"]), size, str(item["content_type"]))
            item = item.get("id")
        if not isinstance(item, str) or not _ID.match(item):
            raise field_error("%(name)s must name an uploaded file", name=self.name_of(field))
        return item

    def display(self, field: Any, value: Any, locale: str) -> str:
        if not value:
            return ""
        return ", ".join(value) if isinstance(value, list) else value

    def present(self, field: Any, value: Any, locale: str, lookup: Lookup | None) -> str:
        """Uploaded files by their names (`📎 invoice.pdf`), invoice numbers as typed."""
        if not value or lookup is None:
            return self.display(field, value, locale)
        items = value if isinstance(value, list) else [value]
        return ", ".join(self.file_label(str(item), lookup) for item in items)

    @staticmethod
    def file_label(value: str, lookup: Lookup) -> str:
        name = lookup.attachment_name(value)
        return f"📎 {name}" if name else value

    def workbook_hint(self, field: Any) -> str:
        return "发票号码（文件请在网页上传） Invoice number (upload files on the web)"

    def form_field(self, field: Any, locale: str) -> Any:
        from wtforms import FileField, MultipleFileField

        kind = MultipleFileField if field.multiple else FileField
        kwargs = self.form_field_kwargs(field, locale)
        kwargs["render_kw"] = {**kwargs["render_kw"], "accept": ",".join(field.accept)}
        return kind(**kwargs)


WIDGET = AttachmentWidget()
