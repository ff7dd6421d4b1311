"""Template drafts and immutable published versions.

A draft is edited freely; ``publish`` freezes it as the next version number. Submissions
keep the version they were created on, so a published version is parsed once and cached.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from quire.designer.canonical import template_data
from quire.designer.model import Template
from quire.designer.validate import Issue, validate_template

from .. import audit
from ..errors import Conflict, Detail, Invalid, NotFound
from ..extensions import db
from ..models import DraftRevision, FormTemplate, Role, TemplateVersion, User, utcnow


def template_by_key(key: str) -> FormTemplate:
    found = db.session.scalar(select(FormTemplate).where(FormTemplate.key == key))
    if found is None:
        raise NotFound(f"No template {key!r}.")
    return found


def known_roles() -> frozenset[str]:
    """The role keys in the database (built-in and admin-made), which templates may name."""
    return frozenset(db.session.scalars(select(Role.key)))


def problems(doc: object) -> list[Issue]:
    """Every problem of a document: roles checked against the roles that exist here, a
    report's steps against the columns its data sources give (a form's table as published)."""
    from flask import has_app_context

    from ..reports.shapes import source_shape

    if not has_app_context():  # `quire templates validate FILE` needs no database
        return validate_template(doc)
    return validate_template(doc, known_roles(), source_shape=source_shape)


def check(doc: object) -> Template:
    """Validate a document; raise Invalid with every problem addressed by JSON path."""
    issues = problems(doc)
    if issues:
        raise Invalid(
            f"The template has {len(issues)} problem(s).",
            [Detail(i.path, i.message) for i in issues],
        )
    return Template.model_validate(doc)


def save_draft(actor: User | None, doc: object) -> FormTemplate:
    """Create a template or replace its draft; the published versions are untouched."""
    template = check(doc)
    record = db.session.scalar(select(FormTemplate).where(FormTemplate.key == template.key))
    document = template_data(template)
    if record is None:
        record = FormTemplate(
            key=template.key,
            kind=template.kind,
            latest_version=0,
            draft_version=0,
            title_zh=template.title.zh,
            title_en=template.title.en,
        )
        db.session.add(record)
        db.session.flush()
    elif record.kind != template.kind:
        raise Invalid(
            "A template cannot change kind.", [Detail("kind", f"must stay {record.kind}")]
        )
    store_draft(actor, record, document, kind="replace")
    audit.record(actor, "template.draft", object_type="template", object_id=template.key)
    return record


def store_draft(
    actor: User | None,
    record: FormTemplate,
    document: dict[str, Any],
    *,
    kind: str,
    ops: list[Any] | None = None,
) -> DraftRevision:
    """Make `document` the draft: one more draft version, and a revision row that undo, redo
    and the designer's history read."""
    title = document.get("title") or {}
    record.title_zh = title.get("zh") or record.title_zh or record.key
    record.title_en = title.get("en") or record.title_en or record.key
    record.draft = document
    record.draft_updated_at = utcnow()
    record.draft_updated_by_id = actor.id if actor else None
    record.draft_version = (record.draft_version or 0) + 1
    revision = DraftRevision(
        template_id=record.id,
        version=record.draft_version,
        kind=kind,
        ops=ops,
        document=document,
        actor_id=actor.id if actor else None,
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def publish(actor: User | None, key: str, note: str | None = None) -> TemplateVersion:
    """Freeze the draft as the next version, with who published it and why."""
    record = template_by_key(key)
    if record.draft is None:
        raise Conflict("There is no draft to publish; the latest version is already published.")
    check(record.draft)
    if record.latest_version:
        latest = version_record(record, record.latest_version)
        if latest.document == record.draft:
            record.draft = None
            return latest
    version = TemplateVersion(
        template=record,
        version=record.latest_version + 1,
        document=record.draft,
        published_by_id=actor.id if actor else None,
        note=(note or "").strip()[:2000] or None,
    )
    record.latest_version = version.version
    record.draft = None
    # Someone still editing the old draft must hear that it was published.
    record.draft_version = (record.draft_version or 0) + 1
    db.session.add(version)
    db.session.flush()
    audit.record(
        actor,
        "template.publish",
        object_type="template",
        object_id=key,
        changes={"version": version.version},
    )
    return version


#: Session.info key of the published versions already loaded in this unit of work.
_VERSIONS_SEEN = "quire.forms.template_versions"


def version_record(record: FormTemplate, version: int | None = None) -> TemplateVersion:
    """A published version of ``record`` (the latest by default). A published version never
    changes, so a page listing fifty submissions of one form loads it once."""
    number = version or record.latest_version
    if not number:
        raise NotFound(f"Template {record.key!r} has no published version yet.")
    seen: dict[tuple[int, int], TemplateVersion] = db.session.info.setdefault(_VERSIONS_SEEN, {})
    found = seen.get((record.id, number))
    if found is None:
        found = db.session.scalar(
            select(TemplateVersion).where(
                TemplateVersion.template_id == record.id, TemplateVersion.version == number
            )
        )
        if found is None:
            raise NotFound(f"Template {record.key!r} has no version {number}.")
        seen[(record.id, number)] = found
    return found


def forget_loaded_versions(session: Session, *_: object) -> None:
    """A rollback may take back a version published in it; each request starts afresh."""
    session.info.pop(_VERSIONS_SEEN, None)


for _moment in ("after_rollback", "after_soft_rollback"):
    event.listen(Session, _moment, forget_loaded_versions)


@lru_cache(maxsize=256)
def _parsed(version_id: int, document_json: str) -> Template:
    import json

    return Template.model_validate(json.loads(document_json))


def parsed(version: TemplateVersion) -> Template:
    """The typed template of a published version (cached: published versions never change)."""
    import json

    return _parsed(version.id, json.dumps(version.document, sort_keys=True))


def published(key: str, version: int | None = None) -> tuple[TemplateVersion, Template]:
    record = template_by_key(key)
    found = version_record(record, version)
    return found, parsed(found)


def import_builtins(actor: User | None = None) -> list[str]:
    """Load the built-in templates and publish any that changed; returns the keys published."""
    from quire.report_templates import builtin_templates

    changed = []
    for key, doc in builtin_templates().items():
        record = save_draft(actor, doc)
        before = record.latest_version
        version = publish(actor, key)
        if version.version != before:
            changed.append(key)
    return changed
