"""The auditor's operation log: filters, paging, Excel and CSV exports, the chain's state,
and every permission change in words (old → new), in the reader's scope only."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook
from sqlalchemy import select, update

from quire.runtime import audit, org
from quire.runtime.extensions import db
from quire.runtime.models import AuditEvent, Department


def _grant(user, username: str, role: str, department: str | None, actor: str | None = None):  # type: ignore[no-untyped-def]
    grant = org.grant_role(
        user(actor) if actor else None,
        user(username),
        org.role_by_key(role),
        department=org.department_by_code(department) if department else None,
    )
    db.session.commit()
    return grant


def _csv_rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    text = response.data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _department_path(seq: int) -> str | None:
    department_id = db.session.scalar(select(AuditEvent.department_id).where(AuditEvent.seq == seq))
    if department_id is None:
        return None
    return db.session.get(Department, department_id).path


def test_a_sales_scoped_auditor_sees_and_exports_sales_events_only(user, signed_in):
    _grant(user, "sales1", "auditor", "SALES")
    audit.record(user("rd1"), "user.update", object_type="user", object_id="rd1")
    audit.record(user("sales2"), "user.update", object_type="user", object_id="sales2")
    audit.record(user("admin"), "role.update", object_type="role", object_id="staff")
    db.session.commit()
    sales1 = signed_in("sales1")

    page = sales1.get("/admin/audit?per_page=200")
    assert page.status_code == 200
    table = page.text.split('data-testid="audit-table"', 1)[1].split("</table>", 1)[0]
    assert "sales2" in table and "rd1" not in table and "staff" not in table

    for fmt in ("csv", "xlsx"):
        response = sales1.get(f"/admin/audit/export?format={fmt}")
        assert response.status_code == 200, response.text[:300]
        if fmt == "csv":
            rows = _csv_rows(response)
            seqs = [int(r["序号 No."]) for r in rows]
            objects = {r["对象 Object"] for r in rows}
        else:
            sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
            values = list(sheet.iter_rows(min_row=2, values_only=True))
            seqs = [int(r[0]) for r in values if r[0] is not None]
            objects = {r[5] for r in values}
        assert seqs, fmt
        assert "用户 sales2" in objects and "用户 rd1" not in objects, fmt
        sales_path = org.department_by_code("SALES").path
        assert all((_department_path(s) or "").startswith(sales_path) for s in seqs), fmt
    exported = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.export")
    ).all()
    assert {e.changes["format"] for e in exported} == {"csv", "xlsx"}
    assert {e.actor_name for e in exported} == {"sales1"}


def test_filters_by_user_object_action_and_period_and_pages_keep_them(user, signed_in):
    for n in range(3):
        audit.record(
            user("admin"), "user.update", object_type="user", object_id="rd1", changes={"n": n}
        )
    audit.record(user("admin"), "user.update", object_type="user", object_id="sales2")
    db.session.commit()
    auditor = signed_in("auditor")
    today = date.today().isoformat()
    url = (
        "/admin/audit?actor=admin&action=user.update&object_type=user&object_id=rd1"
        f"&since={today}&until={today}&per_page=2"
    )
    first = auditor.get(url)
    assert first.status_code == 200
    assert "page=2" in first.text and "object_id=rd1" in first.text.split("page=2")[0][-400:]
    second = auditor.get(url + "&page=2")
    table = second.text.split('data-testid="audit-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 1  # the header row and the third event
    assert "sales2" not in table
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    none = auditor.get(f"/admin/audit?actor=admin&until={yesterday}&object_id=rd1")
    assert 'colspan="7" class="muted"' in none.text  # "no events match"
    bad = auditor.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and "since" in bad.text


def test_permission_changes_read_old_to_new_in_words(user, signed_in):
    grant = _grant(user, "sales2", "finance_reviewer", "SALES", actor="admin")
    org.revoke_grant(user("admin"), grant, "review: no longer needed")
    staff = org.role_by_key("staff")
    org.save_role(
        user("admin"),
        key="staff",
        name_zh=staff.name_zh,
        name_en=staff.name_en,
        permissions=[*staff.permissions, "report.read"],
        existing=staff,
    )
    sales1 = user("sales1")
    org.save_user(
        user("admin"),
        username="sales1",
        display_name=sales1.display_name,
        department=sales1.department,
        email=sales1.email,
        manager=sales1.manager,
        delegate=user("sales3"),
        delegate_until=date.today() + timedelta(days=7),
        existing=sales1,
    )
    audit.record(user("admin"), "submission.submit", object_type="user", object_id="sales2")
    db.session.commit()
    auditor = signed_in("auditor")

    page = auditor.get("/admin/audit?category=permissions&per_page=200").text
    table = page.split('data-testid="audit-table"', 1)[1].split("</table>", 1)[0]
    assert "授予角色" in table and "收回角色" in table and "修改角色权限" in table
    assert "grant.create" not in table.replace('title="grant.create"', "")
    assert "财务审核 (finance_reviewer) · SALES 销售部 (含下级)" in table
    assert "review: no longer needed" in table
    assert "新增权限</strong>: 查看报表" in table
    assert '代理人</strong>: <span class="old">∅</span> → <span class="new">sales3</span>' in table
    assert "提交" not in table, "not a permission change"

    auditor.post_form("/locale", {"locale": "en"}, page="/")
    english = auditor.get("/admin/audit?category=permissions&per_page=200").text
    assert "Granted a role" in english and "Revoked a role" in english
    assert "Permissions added</strong>: Read reports" in english


def test_the_chain_status_says_intact_or_where_it_breaks(app, signed_in):
    auditor = signed_in("auditor")
    page = auditor.get("/admin/audit")
    assert 'hx-get="/admin/audit/chain"' in page.text
    intact = auditor.get("/admin/audit/chain").text
    assert 'data-testid="chain-ok"' in intact
    victim = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq).offset(4)).first()
    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == victim.id).values(actor_name="mallory")
    )
    db.session.commit()
    broken = auditor.get("/admin/audit/chain").text
    assert 'data-testid="chain-broken"' in broken and f"第 {victim.seq} 条" in broken
    assert signed_in("admin").get("/admin/audit/chain").status_code == 403


def test_exports_neutralise_formulas_and_keep_masked_values_masked(user, signed_in):
    audit.record(
        user("sales1"),
        "user.update",
        object_type="user",
        object_id="sales1",
        changes={"display_name": ["李明", '=HYPERLINK("http://evil","x")']},
    )
    db.session.commit()
    auditor = signed_in("auditor")
    rows = _csv_rows(auditor.get("/admin/audit/export?format=csv&object_id=sales1"))
    changed = [
        r["变更内容 What changed"] for r in rows if "HYPERLINK" in r["变更内容 What changed"]
    ]
    assert changed and all(not c.startswith("=") for c in changed)
    book = load_workbook(io.BytesIO(auditor.get("/admin/audit/export?object_id=sales1").data))
    cells = [c for row in book.worksheets[0].iter_rows(min_row=2) for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert auditor.get("/admin/audit/export?format=pdf").status_code == 400


def test_the_export_masks_a_bank_account_as_the_page_does(api, signed_in):
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
    draft = client.post("/api/v1/forms/expense-claim/submissions", json={"data": data}).json
    changed = dict(data, bank_account="6222 0200 9999 4321")
    client.patch(f"/api/v1/submissions/{draft['id']}", json={"data": changed, "version": 1})
    client.post(f"/api/v1/submissions/{draft['id']}/submit", json={})
    auditor = signed_in("auditor")
    url = f"/admin/audit/export?format=csv&action=submission.update&object_id={draft['id']}"
    text = " ".join(r["变更内容 What changed"] for r in _csv_rows(auditor.get(url)))
    assert "4321" in text and "9999" not in text and "1234 5678" not in text


def test_a_status_change_reads_as_words_in_the_readers_language(app):  # type: ignore[no-untyped-def]
    from quire.runtime.audit_words import Vocabulary, describe

    event = AuditEvent(action="submission.approve", object_type="submission")
    changes = {"status": ["in_review", "approved"]}
    with app.test_request_context():
        [english] = describe(event, changes, Vocabulary("en"))
        [chinese] = describe(event, changes, Vocabulary("zh_CN"))
    assert (english.old, english.new) == ("In review", "Approved")
    assert (chinese.old, chinese.new) == ("审批中", "已批准")
