"""The periodic sweep: reminders before the due date, escalation after it, and the next
campaign of a quarterly series (the clock moved forward)."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select


def _local_noon(day):  # type: ignore[no-untyped-def]
    """A UTC moment on ``day`` in the organisation's calendar (noon in Shanghai)."""
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


def _notices(user, kind):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db
    from quire.runtime.models import Notification

    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
        )
    )


def test_reviewers_are_reminded_before_the_due_date_once(app, start, sales_reviewer, user):
    from quire.runtime.reviews import service

    campaign = start(remind_days=3)
    before = service.sweep(_local_noon(campaign.due_date - timedelta(days=4)))
    assert before.get("remind", 0) == 0
    reminded = service.sweep(_local_noon(campaign.due_date - timedelta(days=2)))
    assert reminded["remind"] >= 1
    assert len(_notices(user("salesmgr"), "review_reminder")) == 1
    again = service.sweep(_local_noon(campaign.due_date - timedelta(days=1)))
    assert again.get("remind", 0) == 0
    assert len(_notices(user("salesmgr"), "review_reminder")) == 1


def test_items_unreviewed_at_the_deadline_go_to_the_reviewers_manager(
    app, start, sales_reviewer, item_of, user
):
    from quire.runtime.access import may_decide_review_item
    from quire.runtime.extensions import db
    from quire.runtime.models import AuditEvent
    from quire.runtime.reviews import service

    campaign = start()
    item = item_of(campaign, "sales2", "finance_reviewer")
    on_the_day = service.sweep(_local_noon(campaign.due_date))
    assert on_the_day.get("escalate", 0) == 0
    late = service.sweep(_local_noon(campaign.due_date + timedelta(days=1)))
    assert late["escalate"] == len(campaign.items)
    db.session.refresh(item)
    assert item.escalated_to.username == "cfo"  # salesmgr's manager
    assert may_decide_review_item(user("cfo"), item)
    assert _notices(user("cfo"), "review_escalation")
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "access_review.escalate", AuditEvent.object_id == str(item.id)
        )
    )
    assert event.changes["reviewer"] == "salesmgr" and event.changes["escalated_to"] == "cfo"
    # Escalating the CFO's own item never lands on the CFO.
    cfo_item = item_of(campaign, "cfo", "cfo")
    db.session.refresh(cfo_item)
    assert cfo_item.escalated_to_id != cfo_item.grantee_id
    assert service.sweep(_local_noon(campaign.due_date + timedelta(days=2))).get("escalate", 0) == 0


def test_a_quarterly_review_revokes_a_grant_with_audit_and_evidence(
    app, start, sales_reviewer, user, signed_in
):
    import openpyxl

    from quire.runtime import access
    from quire.runtime.access import Permission
    from quire.runtime.extensions import db
    from quire.runtime.models import AccessReviewCampaign, AccessReviewItem, AuditEvent
    from quire.runtime.reviews import service

    first = start(title="Finance roles", recurrence="quarterly")
    assert first.next_run_on == service.add_quarter(service.local_day(first.started_at))
    # Everyone keeps everything in the first quarter.
    for item in list(first.items):
        reviewer = item.reviewer
        decision = service.parse_decision({"decision": "keep"}, service.local_day(first.started_at))
        service.decide(reviewer, item, decision, now=first.started_at)
        db.session.commit()
    assert not first.is_open

    # Three months later the sweep starts the next campaign by itself.
    next_run = first.next_run_on
    later = _local_noon(next_run)
    assert service.sweep(later)["started"] == 1
    second = db.session.scalar(
        select(AccessReviewCampaign).where(AccessReviewCampaign.repeated_from_id == first.id)
    )
    assert second.is_open and second.recurrence == "quarterly"
    assert second.title.startswith("Finance roles · ")
    assert second.next_run_on == service.add_quarter(next_run)
    assert db.session.get(AccessReviewCampaign, first.id).next_run_on is None
    assert service.sweep(later).get("started", 0) == 0, "one campaign per quarter"

    item = db.session.scalar(
        select(AccessReviewItem).where(
            AccessReviewItem.campaign_id == second.id,
            AccessReviewItem.grant_id == sales_reviewer.id,
        )
    )
    assert item.reviewer.username == "salesmgr"
    decision = service.parse_decision(
        {"decision": "revoke", "comment": "no longer reviews claims"}, service.local_day(later)
    )
    service.decide(user("salesmgr"), item, decision, now=later)
    db.session.commit()
    assert not access.can(user("sales2"), Permission.SUBMISSION_APPROVE)

    revoked = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "grant.revoke", AuditEvent.object_id == str(sales_reviewer.id)
        )
    )
    assert revoked.actor_name == "salesmgr"
    assert revoked.changes["campaign"] == second.id and revoked.changes["review_item"] == item.id
    # The auditor reads it in the audit log pages.
    log = signed_in("auditor").get("/admin/audit?action=grant.revoke").text
    assert "grant.revoke" in log

    xlsx = signed_in("auditor").get(f"/access-reviews/{second.id}/evidence.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).worksheets[0]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    header = rows[0]
    sales2 = next(r for r in rows if r[0] == "sales2")
    assert sales2[header.index("复核结论 Decision")] == "撤销"
    assert sales2[header.index("结果 Outcome")] == "授权已撤销"
    assert sales2[header.index("意见 Comment")] == "no longer reviews claims"
