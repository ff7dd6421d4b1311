"""An integrator's inbox lists access-review items beside approval tasks."""

from __future__ import annotations


def test_the_api_inbox_lists_the_review_items_waiting_for_the_reviewer(start, sales_reviewer, api):
    campaign = start()
    body = api("salesmgr").get("/api/v1/inbox").json
    reviews = body["also_waiting"]["access_reviews"]
    mine = [r for r in reviews if r["campaign_id"] == campaign.id]
    assert {(r["grantee"], r["role"]) for r in mine} >= {("sales2", "finance_reviewer")}
    assert all(r["url"] == f"/access-reviews/{campaign.id}" for r in mine)
    # The grantee is not asked about their own grant.
    assert not [
        r
        for r in api("sales2").get("/api/v1/inbox").json["also_waiting"]["access_reviews"]
        if r["grantee"] == "sales2"
    ]
