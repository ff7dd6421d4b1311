"""Who can see what: a person's rights and where each came from; a form's or a field's
audience, computed by the same functions access uses."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

from openpyxl import load_workbook

from quire.runtime import access, org
from quire.runtime.extensions import db
from quire.runtime.forms import service as forms_service
from quire.runtime.forms import templates as template_service
from quire.runtime.models import Submission

ROW = re.compile(r'<tr data-user="([^"]+)">(.*?)</tr>', re.S)


def _levels(html: str, context: str) -> dict[str, str]:
    """username → the field's level in ``context`` (查阅, 本人草稿 or a step's name)."""
    found = {}
    for username, cells in ROW.findall(html):
        match = re.search(
            re.escape(context) + r': <strong class="level-\w+" data-level="(\w+)"', cells
        )
        if match:
            found[username] = match.group(1)
    return found


def _claim(api) -> Submission:  # type: ignore[no-untyped-def]
    client = api("sales1")
    data = {
        "payee_name": "李明",
        "bank_account": "6222 0200 1234 5678",
        "lines": [
            {
                "date": (date.today() - timedelta(days=2)).isoformat(),
                "category": "office",
                "description": "打印纸",
                "amount": "120.00",
            }
        ],
    }
    created = client.post("/api/v1/forms/expense-claim/submissions", json={"data": data}).json
    client.post(f"/api/v1/submissions/{created['id']}/submit", json={})
    return db.session.get(Submission, created["id"])


def test_the_bank_account_reads_for_finance_and_masked_for_the_others_as_on_the_form(
    api, user, signed_in
):
    url = "/admin/access/object?template=expense-claim&department=SALES&field=bank_account"
    page = signed_in("auditor").get(url)
    assert page.status_code == 200, page.text[:400]
    readers = _levels(page.text, "查阅")
    assert {readers[u] for u in ("finrev", "cfo", "finadmin")} == {"read"}
    assert readers["auditor"] == "masked" and readers["salesmgr"] == "masked"
    assert "sales2" not in readers, "staff read only their own forms"
    assert _levels(page.text, "本人草稿")["sales2"] == "edit"

    # The same answer field_access gives, and the one the form itself shows them.
    _, template = template_service.published("expense-claim")
    sales = org.department_by_code("SALES")
    claim = _claim(api)
    for username, level in readers.items():
        person = user(username)
        asked = access.field_access(
            person, template, department=sales, submitter_id=None, step=None
        )
        assert asked["bank_account"] == level, username
        assert forms_service.describe(person, claim).access["bank_account"] == level, username


def test_the_form_audience_names_who_fills_reads_approves_and_exports(signed_in):
    page = signed_in("auditor").get("/admin/access/object?template=expense-claim&department=SALES")
    rows = dict(ROW.findall(page.text))
    assert "部门经理审批" in rows["salesmgr"] and "财务审核" in rows["finrev"]
    assert "财务总监审批" in rows["cfo"]
    assert "部门经理审批" not in rows["rdmgr"] if "rdmgr" in rows else True
    # Without a field: which fields each one sees masked.
    assert "收款账号" in rows["salesmgr"] or "bank_account" in rows["salesmgr"]
    assert "bank_account" not in rows["finrev"]


def test_a_persons_rights_say_where_each_came_from(user, signed_in):
    grant = org.grant_role(
        user("admin"),
        user("sales2"),
        org.role_by_key("finance_reviewer"),
        department=org.department_by_code("SALES"),
        valid_until=datetime.now(UTC) + timedelta(days=30),
    )
    cfo = user("cfo")
    org.save_user(
        None,
        username="cfo",
        display_name=cfo.display_name,
        department=cfo.department,
        email=cfo.email,
        manager=cfo.manager,
        delegate=user("finrev"),
        delegate_from=date.today() - timedelta(days=1),
        delegate_until=date.today() + timedelta(days=5),
        existing=cfo,
    )
    org.grant_role(
        None, user("rd1"), org.role_by_key("finance_admin"), department=org.department_by_code("RD")
    )
    db.session.commit()
    auditor = signed_in("auditor")

    page = auditor.get("/admin/access/user?username=sales2").text
    table = page.split('data-testid="rights-table"', 1)[1].split("</table>", 1)[0]
    assert f"经授权 #{grant.id}" in table and "财务审核 (finance_reviewer)" in table
    assert "SALES 销售部 (含下级)" in table and "直接授权（无申请）" in table
    assert "审批" in table and "查看填报" in table
    assert (datetime.now(UTC) + timedelta(days=30)).astimezone().strftime("%Y-%m-") in table

    finrev = auditor.get("/admin/access/user?username=finrev").text
    assert "代理：审批 cfo 的待办" in finrev
    # A global permission from a department grant is listed, and said to give nothing.
    rd1 = auditor.get("/admin/access/user?username=rd1").text
    assert "设计模板" in rd1 and "否：需要全公司范围的授权" in rd1


def test_the_pages_export_to_excel_and_csv(signed_in):
    auditor = signed_in("auditor")
    book = load_workbook(
        io.BytesIO(auditor.get("/admin/access/user?username=sales2&format=xlsx").data)
    )
    values = [c for row in book.worksheets[0].iter_rows(min_row=2, values_only=True) for c in row]
    assert "填报" in values and "submission.create" in values
    response = auditor.get(
        "/admin/access/object?template=expense-claim&department=SALES&field=bank_account&format=csv"
    )
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    by_user = {r["用户 User"]: r for r in rows}
    assert "查阅: 可查看" in by_user["finrev"]["字段 Fields"]
    assert "查阅: 脱敏显示" in by_user["auditor"]["字段 Fields"]


def test_only_auditors_and_user_managers_inspect_and_only_in_their_scope(user, signed_in):
    org.grant_role(
        None, user("sales1"), org.role_by_key("auditor"), department=org.department_by_code("SALES")
    )
    db.session.commit()
    assert signed_in("sales2").get("/admin/access").status_code == 403
    assert signed_in("cfo").get("/admin/access/user?username=sales2").status_code == 403
    scoped = signed_in("sales1")
    assert scoped.get("/admin/access/user?username=sales2").status_code == 200
    assert scoped.get("/admin/access/user?username=rd1").status_code == 404
    assert (
        scoped.get("/admin/access/object?template=expense-claim&department=RD").status_code == 404
    )
    index = scoped.get("/admin/access").text
    assert 'value="sales2"' in index and 'value="rd1"' not in index
    assert signed_in("admin").get("/admin/access/user?username=rd1").status_code == 200
    assert signed_in("auditor").get("/admin/access/object?template=nope").status_code == 404
    bad = signed_in("auditor").get("/admin/access/object?template=expense-claim&field=nope")
    assert bad.status_code == 400
