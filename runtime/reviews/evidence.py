"""A campaign's results as audit evidence: one row per reviewed grant, rendered by the
report renderers (Excel with formulas neutralised, PDF through the Typst layout), with
zh/en headings.

The document is built from rows already loaded and scoped by the caller; the renderers
never query the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..models import AccessReviewCampaign, AccessReviewItem
from ..render.document import Column, ReportDocument
from . import service

COLUMNS = (
    Column("user", {"zh": "用户", "en": "User"}),
    Column("name", {"zh": "姓名", "en": "Name"}),
    Column("department", {"zh": "部门", "en": "Department"}),
    Column("role", {"zh": "角色", "en": "Role"}),
    Column("scope", {"zh": "范围", "en": "Scope"}),
    Column("valid_until", {"zh": "有效期至", "en": "Valid until"}),
    Column("reviewer", {"zh": "复核人", "en": "Reviewer"}),
    Column("decision", {"zh": "复核结论", "en": "Decision"}),
    Column("outcome", {"zh": "结果", "en": "Outcome"}),
    Column("decided_by", {"zh": "决定人", "en": "Decided by"}),
    Column("decided_at", {"zh": "决定时间", "en": "Decided at"}),
    Column("comment", {"zh": "意见", "en": "Comment"}),
    Column("escalated_to", {"zh": "超期转交", "en": "Escalated to"}),
)


def _label(pair: tuple[str, str], english: bool) -> str:
    return pair[1] if english else pair[0]


def scope_text(summary: Mapping[str, Any], english: bool) -> str:
    """A grant's scope in words: ``SALES (含下级)`` / ``organisation``."""
    department = summary.get("department")
    if not department:
        words = "whole organisation" if english else "全组织"
    elif summary.get("include_subtree", True):
        words = f"{department} (with subtree)" if english else f"{department}（含下级）"
    else:
        words = department
    extras = []
    if summary.get("projects"):
        extras.append(",".join(summary["projects"]))
    if summary.get("period_from") or summary.get("period_until"):
        extras.append(f"{summary.get('period_from') or '…'} – {summary.get('period_until') or '…'}")
    return " · ".join([words, *extras])


def item_rows(items: list[AccessReviewItem], locale: str, local: Any) -> list[dict[str, Any]]:
    """One row per item; ``local`` turns a UTC datetime into local wall time text."""
    english = locale.startswith("en")
    rows = []
    for item in items:
        snap = item.snapshot or {}
        outcome = ""
        if item.decision == "narrow" and item.narrowed_to:
            outcome = scope_text(item.narrowed_to, english)
            if item.narrowed_to.get("valid_until"):
                until = item.narrowed_to["valid_until"][:10]
                outcome += f" · {'until' if english else '至'} {until}"
        elif item.decision == "revoke":
            outcome = "grant revoked" if english else "授权已撤销"
        elif item.decision == "keep":
            outcome = "unchanged" if english else "不变"
        holder = item.reviewer
        rows.append(
            {
                "user": item.grantee.username,
                "name": item.grantee.display_name,
                "department": item.department.code,
                "role": item.role.name(locale),
                "scope": scope_text(snap, english),
                "valid_until": (snap.get("valid_until") or "")[:10]
                or ("open-ended" if english else "长期"),
                "reviewer": holder.username if holder else "",
                "decision": _label(service.DECISION_LABELS[item.decision], english)
                if item.decision
                else ("not reviewed" if english else "未复核"),
                "outcome": outcome,
                "decided_by": item.decided_by.username if item.decided_by else "",
                "decided_at": local(item.decided_at) if item.decided_at else "",
                "comment": item.comment or "",
                "escalated_to": item.escalated_to.username if item.escalated_to else "",
            }
        )
    return rows


def document(
    campaign: AccessReviewCampaign,
    items: list[AccessReviewItem],
    *,
    locale: str,
    company: str,
    generated_at: datetime,
    generated_by: str,
    local: Any,
) -> ReportDocument:
    """The evidence document of ``campaign`` (the items the caller may see)."""
    english = locale.startswith("en")
    counts = service.outcome_counts(items)
    scope = _label(service.SCOPE_LABELS[campaign.scope_kind], english)
    if campaign.department is not None:
        scope = f"{scope} {campaign.department.code}"
    started_by = campaign.started_by.username if campaign.started_by else "system"
    status = {"open": ("进行中", "Open"), "closed": ("已结束", "Closed")}[campaign.status]
    if english:
        parameters = (
            ("Campaign", f"#{campaign.id} {campaign.title}"),
            ("Scope", scope),
            ("Started", f"{local(campaign.started_at)} by {started_by}"),
            ("Due date", campaign.due_date.isoformat()),
            ("Status", status[1]),
            (
                "Results",
                f"kept {counts['keep']}, revoked {counts['revoke']}, "
                f"narrowed {counts['narrow']}, not reviewed {counts['open']}",
            ),
        )
    else:
        parameters = (
            ("复核活动", f"#{campaign.id} {campaign.title}"),
            ("范围", scope),
            ("发起", f"{local(campaign.started_at)} {started_by}"),
            ("截止日期", campaign.due_date.isoformat()),
            ("状态", status[0]),
            (
                "结果",
                f"保留 {counts['keep']}，撤销 {counts['revoke']}，"
                f"缩小范围 {counts['narrow']}，未复核 {counts['open']}",
            ),
        )
    return ReportDocument(
        title={
            "zh": f"权限复核证据：{campaign.title}",
            "en": f"Access review evidence: {campaign.title}",
        },
        company=company,
        columns=COLUMNS,
        rows=item_rows(items, locale, local),
        generated_at=generated_at,
        generated_by=generated_by,
        template_key="access-review-evidence",
        template_version=campaign.id,
        locale="en" if english else "zh_CN",
        orientation="landscape",
        parameters=parameters,
        sheet_name="Evidence" if english else "复核证据",
    )
