"""Canonical JSON for templates, so a template kept in git diffs cleanly and round-trips.

Keys keep the models' field order (the order the docs describe), values equal to their default
are left out, non-ASCII text stays readable (`"报销"`, not escapes), two-space indent and a final
newline. Export → import → export therefore gives the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Template
from .validate import load_template


def template_data(template: Template) -> dict[str, Any]:
    """The template as canonical JSON data (a dict), defaults left out."""
    return template.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def dumps_template(template: Template) -> str:
    """The canonical JSON text of a template."""
    return json.dumps(template_data(template), ensure_ascii=False, indent=2) + "\n"


def canonical_json(doc: object) -> str:
    """Validate a template document and return its canonical text; raises TemplateInvalid."""
    return dumps_template(load_template(doc))


def loads_template(text: str | bytes) -> Template:
    """Parse template JSON text and validate it; raises TemplateInvalid (bad JSON included)."""
    from .issues import Issue, TemplateInvalid

    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise TemplateInvalid([Issue("", f"the file is not valid JSON: {exc}")]) from exc
    return load_template(doc)
