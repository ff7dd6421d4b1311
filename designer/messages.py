"""Pydantic's validation errors, retold as issues a finance admin can act on.

Pydantic's locations include internal steps (the tag of a union, `function-after[...]`) and its
messages speak of types; here locations become the document's own JSON paths and messages
become short sentences ("this field is required", "must be one of: form, report").
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .issues import Issue, did_you_mean, join_path

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")

_SIMPLE = {
    "missing": "this field is required",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "list_type": "must be a list",
    "dict_type": "must be an object (keys and values)",
    "model_type": "must be an object (keys and values)",
    "model_attributes_type": "must be an object (keys and values)",
    "none_required": "must be empty",
    "string_unicode": "must be valid text",
}


def issues_from_validation_error(
    error: ValidationError, doc: Any, root: type[BaseModel]
) -> list[Issue]:
    """Every pydantic error as an Issue, one per location (a value that fits none of a union's
    members gives one issue, not one per member)."""
    issues: list[Issue] = []
    seen: set[str] = set()
    for detail in error.errors(include_url=False):
        loc, skipped = _document_location(tuple(detail["loc"]), doc)
        if detail["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc.append(str((detail.get("ctx") or {}).get("discriminator", "")).strip("'"))
        path = join_path(*loc)
        if path in seen and skipped:
            continue
        seen.add(path)
        message = _sentence(detail, loc, root)
        issues.append(Issue(path, message))
    return list(dict.fromkeys(issues))


def _document_location(loc: tuple[Any, ...], doc: Any) -> tuple[list[str | int], bool]:
    """Keep the parts of pydantic's location that are keys or indexes in the document; drop
    the union tags and validator names pydantic inserts. The last part is kept even when
    absent, because a missing or unknown key is named there."""
    kept: list[str | int] = []
    skipped = False
    current = doc
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if _is_tag(current, part):
            skipped = True  # the union member pydantic tried, named by the document's own tag
        elif isinstance(current, dict) and isinstance(part, str) and part in current:
            kept.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            kept.append(part)
            current = current[part]
        elif last and not _internal(part):
            kept.append(part)
            current = None
        else:
            skipped = True
    return kept, skipped


def _is_tag(current: Any, part: Any) -> bool:
    return isinstance(current, dict) and any(
        current.get(tag) == part for tag in ("type", "kind", "op") if isinstance(part, str)
    )


def _internal(part: Any) -> bool:
    # pydantic's own steps look like `function-after[...]`, `literal['a','b']`, `str`, `int`...
    return isinstance(part, str) and (
        "[" in part or part in {"str", "int", "bool", "float", "none", "list", "dict"}
    )


def _sentence(detail: Any, loc: list[str | int], root: type[BaseModel]) -> str:
    kind, ctx = detail["type"], detail.get("ctx") or {}
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else ""
        known = _known_keys(tuple(detail["loc"][:-1]), root)
        return f'unknown key "{name}"' + did_you_mean(name, known)
    if kind in ("literal_error", "enum"):
        expected = _QUOTED.findall(str(ctx.get("expected", "")))
        if expected:
            got = detail.get("input")
            hint = did_you_mean(got, expected) if isinstance(got, str) else ""
            return "must be one of: " + ", ".join(expected) + hint
    if kind == "union_tag_invalid":
        tags = _QUOTED.findall(str(ctx.get("expected_tags", "")))
        got = str(ctx.get("tag", ""))
        field = ctx.get("discriminator", "").strip("'")
        choices = "; must be one of: " + ", ".join(tags)
        return f'unknown {field} "{got}"' + did_you_mean(got, tags) + choices
    if kind == "union_tag_not_found":
        return "this field is required"
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return (
            "must not be empty" if minimum == 1 else f"must be at least {minimum} characters long"
        )
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {ctx.get('le', ctx.get('lt'))}"
    if kind == "string_pattern_mismatch":
        return _pattern_sentence(str(ctx.get("pattern", "")))
    if kind == "value_error":
        return str(detail["msg"]).removeprefix("Value error, ")
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    return str(detail["msg"])


def _pattern_sentence(pattern: str) -> str:
    if pattern == r"^[A-Z]{3}$":
        return "must be a three-letter currency code such as CNY"
    if pattern.startswith("^[a-z][a-z0-9_"):
        return "must start with a lowercase letter and contain only lowercase letters, digits, " + (
            "underscores and hyphens" if "-" in pattern else "and underscores"
        )
    return "is not in the expected form"


def _known_keys(loc: tuple[Any, ...], root: type[BaseModel]) -> list[str]:
    """The keys the model at `loc` accepts, for "did you mean" on an unknown key."""
    candidates: list[Any] = [root]
    for part in loc:
        candidates = [found for candidate in candidates for found in _step(candidate, part)]
    keys: list[str] = []
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            keys += [info.alias or name for name, info in candidate.model_fields.items()]
    return keys


def _expand(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _expand(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [member for arg in get_args(annotation) for member in _expand(arg)]
    return [annotation]


def _step(candidate: Any, part: Any) -> list[Any]:
    if isinstance(part, int):
        if get_origin(candidate) in (list, tuple):
            return _expand(get_args(candidate)[0])
        return []
    if isinstance(candidate, type) and issubclass(candidate, BaseModel):
        by_key = {info.alias or name: info for name, info in candidate.model_fields.items()}
        if part in by_key:
            return _expand(by_key[part].annotation)
        for tag_field in ("type", "kind", "op"):
            info = candidate.model_fields.get(tag_field)
            if (
                info
                and get_origin(info.annotation) is Literal
                and get_args(info.annotation) == (part,)
            ):
                return [candidate]
    return []
