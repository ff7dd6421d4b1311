"""Who sees what: grants, scopes (department subtree, project, period) and validity."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from quire.runtime import access, org
from quire.runtime.access import Permission as P
from quire.runtime.extensions import db
from quire.runtime.models import Department, RoleGrant, User, UserStatus, utcnow


def visible_users(viewer: User) -> set[str]:
    stmt = select(User.username).where(access.scope_filter(viewer, P.USER_READ, User))
    return set(db.session.scalars(stmt))


def test_sales_manager_sees_east_china_staff_but_not_rnd(user):
    seen = visible_users(user("salesmgr"))
    assert {"sales1", "sales2", "sales3", "salesmgr"} <= seen
    assert "rd1" not in seen and "rdmgr" not in seen and "cfo" not in seen


def test_can_agrees_with_the_list_filter(user):
    salesmgr = user("salesmgr")
    assert access.can(salesmgr, P.USER_READ, user("sales3"))
    assert not access.can(salesmgr, P.USER_READ, user("rd1"))
    # Every user, checked one by one, gives the same answer as the SQL filter.
    everyone = db.session.scalars(select(User)).all()
    assert {u.username for u in everyone if access.can(salesmgr, P.USER_READ, u)} == visible_users(
        salesmgr
    )


def test_staff_without_a_user_read_grant_sees_nobody(user):
    assert visible_users(user("sales1")) == set()
    assert not access.can(user("sales1"), P.USER_READ)


def test_auditor_and_cfo_see_the_whole_organisation(user):
    total = db.session.query(User).count()
    assert len(visible_users(user("auditor"))) == total
    assert len(visible_users(user("cfo"))) == total


def test_system_administrator_sees_no_finance_data(user):
    admin = user("admin")
    for permission in (P.SUBMISSION_READ, P.REPORT_READ, P.REPORT_EXPORT, P.AUDIT_READ):
        assert not access.can(admin, permission)


def test_a_grant_past_its_end_stops_counting_at_once(user):
    rd1, role = user("rd1"), org.role_by_key("dept_manager")
    rd = org.department_by_code("RD")
    grant = org.grant_role(
        None, rd1, role, department=rd, valid_until=utcnow() + timedelta(hours=1)
    )
    db.session.commit()
    assert access.can(rd1, P.SUBMISSION_APPROVE)
    grant.valid_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert not access.can(rd1, P.SUBMISSION_APPROVE)
    assert grant.is_current() is False


def test_a_revoked_grant_gives_nothing(user):
    salesmgr = user("salesmgr")
    grant = next(g for g in salesmgr.grants if g.role.key == "dept_manager")
    org.revoke_grant(None, grant, "moved to another job")
    db.session.commit()
    assert visible_users(salesmgr) == set()


def test_a_grant_not_yet_valid_does_not_count(user):
    rd1 = user("rd1")
    org.grant_role(None, rd1, org.role_by_key("auditor"), valid_from=utcnow() + timedelta(days=1))
    db.session.commit()
    assert not access.can(rd1, P.AUDIT_READ)


def test_a_person_who_left_has_no_rights_even_with_grants(user):
    salesmgr = user("salesmgr")
    org.set_status(None, salesmgr, UserStatus.LEFT)
    db.session.commit()
    assert access.permissions_of(salesmgr) == set()
    assert not access.can(salesmgr, P.USER_READ, user("sales1"))


def test_subtree_can_be_switched_off(user):
    rd1 = user("rd1")
    org.grant_role(
        None,
        rd1,
        org.role_by_key("dept_manager"),
        department=org.department_by_code("SALES"),
        include_subtree=False,
    )
    db.session.commit()
    seen = visible_users(rd1)
    assert "sales1" in seen and "sales3" not in seen


class _PeriodRow:
    """A stand-in scoped model with a period column, to test period limits in SQL."""


def test_a_period_limited_grant_covers_only_its_months(app, user):
    from sqlalchemy import Column, Date, Integer, MetaData, String, Table, insert
    from sqlalchemy.orm import registry

    meta = MetaData()
    table = Table(
        "period_rows",
        meta,
        Column("id", Integer, primary_key=True),
        Column("department_id", Integer),
        Column("project", String(20)),
        Column("period", Date),
        Column("owner_id", Integer),
    )
    meta.create_all(db.engine)

    class PeriodRow:
        __scope__ = access.ScopeColumns(
            department="department_id", project="project", period="period", owner="owner_id"
        )

    registry().map_imperatively(PeriodRow, table)
    rd = org.department_by_code("RD")
    rd1 = user("rd1")
    db.session.execute(
        insert(table),
        [
            {
                "id": 1,
                "department_id": rd.id,
                "project": "P1",
                "period": date(2026, 1, 15),
                "owner_id": None,
            },
            {
                "id": 2,
                "department_id": rd.id,
                "project": "P1",
                "period": date(2026, 3, 31),
                "owner_id": None,
            },
            {
                "id": 3,
                "department_id": rd.id,
                "project": "P2",
                "period": date(2026, 2, 10),
                "owner_id": None,
            },
            {
                "id": 4,
                "department_id": rd.id,
                "project": "P9",
                "period": date(2026, 9, 1),
                "owner_id": rd1.id,
            },
        ],
    )
    org.grant_role(
        None,
        user("finrev"),
        org.role_by_key("auditor"),
        department=rd,
        projects=["P1"],
        period_from=date(2026, 1, 1),
        period_until=date(2026, 2, 1),
    )
    db.session.commit()
    finrev_auditor = [g for g in access.grants_for(user("finrev"), P.AUDIT_READ)]
    assert len(finrev_auditor) == 1

    def ids(viewer: User) -> set[int]:
        return set(
            db.session.scalars(
                select(PeriodRow.id).where(access.scope_filter(viewer, P.AUDIT_READ, PeriodRow))
            )
        )

    # January to February of project P1 only: row 2 (March) and row 3 (P2) are outside.
    assert ids(user("finrev")) == {1}
    # Owners always see their own rows, even without a grant.
    assert ids(rd1) == {4}


def test_authorize_hides_objects_outside_every_scope_as_not_found(user):
    import pytest

    from quire.runtime.errors import Forbidden, NotFound

    with pytest.raises(NotFound):
        access.authorize(user("salesmgr"), P.USER_MANAGE, user("rd1"), visible_with=[P.USER_READ])
    with pytest.raises(Forbidden):
        access.authorize(
            user("salesmgr"), P.USER_MANAGE, user("sales1"), visible_with=[P.USER_READ]
        )


def test_department_paths_follow_a_move(user):
    east = org.department_by_code("SALES-E")
    org.save_department(
        None,
        code="SALES-E",
        name_zh=east.name_zh,
        name_en=east.name_en,
        parent=org.department_by_code("RD"),
        existing=east,
    )
    db.session.commit()
    assert east.path == "/HQ/RD/SALES-E/"
    assert "sales3" not in visible_users(user("salesmgr"))
    assert "sales3" in visible_users(user("rdmgr"))
    assert (
        db.session.scalar(select(Department.path).where(Department.code == "SALES-E"))
        == "/HQ/RD/SALES-E/"
    )
    assert RoleGrant  # imported for readers: grants are what the filters read
