"""Drafts as the designer edits them: operations with a version check, undo and redo, restoring
a published version, starting from scratch or from a copy.

Every change goes through `apply` (or one of the functions below that end in the same
`store_draft`), so the draft's `draft_version` is one lock for the page's autosave, the JSON
view, the API and a second admin in another tab: a change sent against an older version is
refused with the latest state (`DraftConflict`) and nothing is overwritten. Undo and redo walk
the revision rows; they are changes too, with their own version.

Template-kind agnostic: nothing here looks inside the document beyond its key and title, so
the report designer reuses it as it is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from quire.runtime import audit
from quire.runtime.errors import Conflict, Detail, Invalid, NotFound
from quire.runtime.extensions import db
from quire.runtime.forms import templates as template_service
from quire.runtime.models import DraftRevision, FormTemplate, TemplateVersion, User

from .issues import Issue, TemplateInvalid
from .ops import OpError, apply_ops, field_keys, parse_ops, structurally_valid


class DraftConflict(Conflict):
    """The draft changed since the client loaded it; `latest` is what it is now."""

    latest: dict[str, Any]


@dataclass
class DraftState:
    """What an editor needs: the document, its lock version, what blocks publishing, and
    whether undo and redo have anything to do."""

    key: str
    kind: str
    version: int
    document: dict[str, Any]
    has_draft: bool
    latest_version: int
    issues: list[Issue] = field(default_factory=list)
    can_undo: bool = False
    can_redo: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "version": self.version,
            "has_draft": self.has_draft,
            "latest_version": self.latest_version or None,
            "document": self.document,
            "issues": [i.as_dict() for i in self.issues],
            "can_undo": self.can_undo,
            "can_redo": self.can_redo,
        }


def working_document(record: FormTemplate) -> dict[str, Any]:
    """The draft, or the latest published version when there is no draft."""
    if record.draft is not None:
        return copy.deepcopy(record.draft)
    if record.latest_version:
        return copy.deepcopy(template_service.version_record(record).document)
    raise NotFound(f"Template {record.key!r} has neither a draft nor a published version.")


def published_keys(record: FormTemplate) -> frozenset[str]:
    """Field keys of every published version: submissions store values under them."""
    keys: set[str] = set()
    for document in db.session.scalars(
        select(TemplateVersion.document).where(TemplateVersion.template_id == record.id)
    ):
        keys.update(field_keys(document))
    return frozenset(keys)


def state(record: FormTemplate) -> DraftState:
    document = working_document(record)
    undo, redo = _stacks(record)
    return DraftState(
        key=record.key,
        kind=record.kind,
        version=record.draft_version or 0,
        document=document,
        has_draft=record.draft is not None,
        latest_version=record.latest_version or 0,
        issues=template_service.problems(document),
        can_undo=bool(undo),
        can_redo=bool(redo),
    )


def _check_version(record: FormTemplate, version: Any) -> None:
    if version is None or str(version) != str(record.draft_version or 0):
        error = DraftConflict(
            "Someone else changed this draft since you opened it. Their changes are shown "
            "now; yours were not applied, so please make them again.",
            [Detail("version", f"the draft is at version {record.draft_version or 0}")],
        )
        error.latest = state(record).as_dict()
        raise error


def _begin(actor: User | None, record: FormTemplate) -> None:
    """A first change after publishing starts a draft from the published version."""
    if record.draft is None:
        template_service.store_draft(actor, record, working_document(record), kind="start")


def apply(actor: User | None, key: str, version: Any, raw_ops: Any) -> DraftState:
    """Apply operations to the draft of `key` if it is still at `version`."""
    record = template_service.template_by_key(key)
    _check_version(record, version)
    if not isinstance(raw_ops, list) or not raw_ops:
        raise Invalid("Send at least one operation.", [Detail("ops", "must be a non-empty list")])
    try:
        ops = parse_ops(raw_ops)
        document = apply_ops(working_document(record), ops, locked_keys=published_keys(record))
    except TemplateInvalid as exc:
        raise Invalid(
            "The change would make the template unreadable; nothing was saved.",
            [Detail(i.path, i.message) for i in exc.issues],
        ) from None
    except OpError as exc:
        raise Invalid(
            f"The change cannot be made: {exc.message}.", [Detail(exc.path, exc.message)]
        ) from None
    _begin(actor, record)
    template_service.store_draft(actor, record, document, kind="ops", ops=raw_ops)
    audit.record(
        actor,
        "template.draft",
        object_type="template",
        object_id=key,
        changes={"ops": [op.op for op in ops], "version": record.draft_version},
    )
    return state(record)


# --- undo and redo ----------------------------------------------------------------------
def _stacks(record: FormTemplate) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(undo, redo) stacks of (before, after) revision versions, replayed from the revisions
    since the draft last started; a publish ends a draft, so history starts again."""
    rows = db.session.execute(
        select(DraftRevision.version, DraftRevision.kind)
        .where(DraftRevision.template_id == record.id)
        .order_by(DraftRevision.version)
    ).all()
    undo: list[tuple[int, int]] = []
    redo: list[tuple[int, int]] = []
    previous: int | None = None
    for version, kind in rows:
        if kind == "start" or previous is None:
            undo, redo = [], []
        elif kind in ("ops", "replace"):
            undo.append((previous, version))
            redo = []
        elif kind == "undo" and undo:
            redo.append(undo.pop())
        elif kind == "redo" and redo:
            undo.append(redo.pop())
        previous = version
    if record.draft is None:
        return [], []
    return undo, redo


def _revision(record: FormTemplate, version: int) -> DraftRevision:
    found = db.session.scalar(
        select(DraftRevision).where(
            DraftRevision.template_id == record.id, DraftRevision.version == version
        )
    )
    if found is None:  # pragma: no cover - revisions are never deleted
        raise NotFound("That step of the draft's history is gone.")
    return found


def undo(actor: User | None, key: str, version: Any) -> DraftState:
    return _walk(actor, key, version, "undo")


def redo(actor: User | None, key: str, version: Any) -> DraftState:
    return _walk(actor, key, version, "redo")


def _walk(actor: User | None, key: str, version: Any, kind: str) -> DraftState:
    record = template_service.template_by_key(key)
    _check_version(record, version)
    undo_stack, redo_stack = _stacks(record)
    stack = undo_stack if kind == "undo" else redo_stack
    if not stack:
        raise Conflict(
            "There is nothing to undo." if kind == "undo" else "There is nothing to redo."
        )
    before, after = stack[-1]
    target = _revision(record, before if kind == "undo" else after)
    template_service.store_draft(actor, record, copy.deepcopy(target.document), kind=kind)
    return state(record)


# --- whole documents ----------------------------------------------------------------------
def replace(actor: User | None, key: str, version: Any, document: Any) -> DraftState:
    """The JSON view's save: a whole document, well-formed, same key."""
    return apply(actor, key, version, [{"op": "replace_document", "document": document}])


def restore(actor: User | None, key: str, version: Any, number: int) -> DraftState:
    """A published version becomes the draft again (the published versions stay as they are)."""
    record = template_service.template_by_key(key)
    _check_version(record, version)
    old = template_service.version_record(record, number)
    _begin(actor, record)
    template_service.store_draft(actor, record, copy.deepcopy(old.document), kind="replace")
    audit.record(
        actor,
        "template.restore",
        object_type="template",
        object_id=key,
        changes={"version": number},
    )
    return state(record)


def create(
    actor: User | None,
    key: str,
    title: dict[str, str],
    *,
    kind: str = "form",
    copy_of: str | None = None,
) -> FormTemplate:
    """A new template's first draft: blank, or a copy of another template's working document
    under a new key and title."""
    if db.session.scalar(select(FormTemplate.id).where(FormTemplate.key == key)) is not None:
        raise Conflict(
            f"There is already a template {key!r}; choose another key.",
            [Detail("key", "is taken")],
        )
    if copy_of:
        source = template_service.template_by_key(copy_of)
        document = working_document(source)
        kind = source.kind
    else:
        document = {"kind": kind, "fields": []}
    document = {**document, "key": key, "title": dict(title)}
    document.pop("description", None) if copy_of is None else None
    try:
        structurally_valid(document)
    except TemplateInvalid as exc:
        raise Invalid(
            "The new template cannot be created.",
            [Detail(i.path, i.message) for i in exc.issues],
        ) from None
    record = FormTemplate(
        key=key,
        kind=kind,
        latest_version=0,
        draft_version=0,
        title_zh=title["zh"],
        title_en=title["en"],
    )
    db.session.add(record)
    db.session.flush()
    template_service.store_draft(actor, record, document, kind="start")
    audit.record(
        actor,
        "template.create",
        object_type="template",
        object_id=key,
        changes={"copy_of": copy_of} if copy_of else None,
    )
    return record


def discard(actor: User | None, key: str, version: Any) -> FormTemplate:
    """Drop the draft of a published template (the latest version stays)."""
    record = template_service.template_by_key(key)
    _check_version(record, version)
    if not record.latest_version:
        raise Conflict("This template was never published; its draft is all there is.")
    record.draft = None
    record.draft_version = (record.draft_version or 0) + 1
    db.session.flush()
    audit.record(actor, "template.discard", object_type="template", object_id=key)
    return record
