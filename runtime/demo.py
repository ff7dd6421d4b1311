"""The demo organisation of CONTRACT.md: departments, roles, people and their grants.

``seed_demo`` is idempotent: it does nothing on a database that already has the demo
organisation, so ``quire demo`` can run it at every start.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from . import clock
from .access import Permission as P
from .extensions import db
from .models import Department, Role, SodRule, User
from .org import grant_role, save_department, save_role, save_user

DEMO_PASSWORD = "quire-demo"  # noqa: S105 - documented demo credential, demo only

DEPARTMENTS = [
    # code, zh, en, parent, cost centre
    ("HQ", "总部", "Headquarters", None, "CC-100"),
    ("FIN", "财务部", "Finance", "HQ", "CC-110"),
    ("SALES", "销售部", "Sales", "HQ", "CC-200"),
    ("SALES-E", "华东销售", "Sales East China", "SALES", "CC-210"),
    ("RD", "研发部", "Research & Development", "HQ", "CC-300"),
    ("HR", "人力资源部", "Human Resources", "HQ", "CC-400"),
]

#: People who plan their own cost centre's lines of their department's budget (SALES's
#: key-account and channel teams); everyone else's lines are their department's.
PERSONAL_COST_CENTRES = {"sales1": "CC-201", "sales2": "CC-202"}

ROLES: list[tuple[str, str, str, list[P]]] = [
    (
        "sysadmin",
        "系统管理员",
        "System administrator",
        [P.USER_READ, P.USER_MANAGE, P.ROLE_MANAGE, P.DEPARTMENT_MANAGE, P.SETTINGS_MANAGE],
    ),
    (
        "finance_admin",
        "财务管理员",
        "Finance administrator",
        [
            P.TEMPLATE_DESIGN,
            P.DATASOURCE_MANAGE,
            P.SUBMISSION_READ,
            P.REPORT_READ,
            P.REPORT_EXPORT,
            P.USER_READ,
            P.BUDGET_MANAGE,
            P.ACCESS_REVIEW,
        ],
    ),
    (
        "finance_reviewer",
        "财务审核",
        "Finance reviewer",
        [P.SUBMISSION_READ, P.SUBMISSION_APPROVE, P.REPORT_READ, P.REPORT_EXPORT],
    ),
    (
        "cfo",
        "财务总监",
        "CFO",
        [P.SUBMISSION_READ, P.SUBMISSION_APPROVE, P.REPORT_READ, P.REPORT_EXPORT, P.USER_READ],
    ),
    (
        "dept_manager",
        "部门经理",
        "Department manager",
        [P.SUBMISSION_READ, P.SUBMISSION_APPROVE, P.REPORT_READ, P.REPORT_EXPORT, P.USER_READ],
    ),
    ("staff", "员工", "Staff", [P.SUBMISSION_CREATE]),
    ("hr_officer", "人事专员", "HR officer", [P.USER_READ, P.PERSONNEL_MANAGE]),
    (
        "auditor",
        "审计",
        "Auditor",
        [
            P.SUBMISSION_READ,
            P.REPORT_READ,
            P.REPORT_EXPORT,
            P.USER_READ,
            P.AUDIT_READ,
            P.ACCESS_REVIEW,
        ],
    ),
]


#: Who approves requests for each role (holders of the owner role), and which roles are
#: high-risk (the security approver decides too) or granted only for a while.
FINANCE_ROLES = ("finance_reviewer", "cfo", "auditor", "finance_admin")
HIGH_RISK_ROLES = ("finance_admin", "cfo", "auditor", "sysadmin")
TEMPORARY_ROLES: dict[str, int] = {"auditor": 90}

#: The separation-of-duties rules of the demo: (key, zh, en, left, right, same department,
#: enabled). The third shows a department-bound rule; it is off because the demo's
#: department managers file their own claims in the department they approve for.
SOD_RULES: list[tuple[str, str, str, list[P], list[P], bool, bool]] = [
    (
        "design-vs-approve",
        "不得同时设计模板和审批报销",
        "May not both design templates and approve claims",
        [P.TEMPLATE_DESIGN],
        [P.SUBMISSION_APPROVE],
        False,
        True,
    ),
    (
        "admin-vs-finance-data",
        "不得同时管理用户或角色和查看财务数据",
        "May not both administer users or roles and read finance data",
        [P.USER_MANAGE, P.ROLE_MANAGE],
        [P.SUBMISSION_READ, P.REPORT_READ, P.REPORT_EXPORT],
        False,
        True,
    ),
    (
        "approve-own-department",
        "不得审批本人作为员工所在部门的单据",
        "May not approve for the department one files forms in as staff",
        [P.SUBMISSION_CREATE],
        [P.SUBMISSION_APPROVE],
        True,
        False,
    ),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    department: str
    roles: tuple[tuple[str, str | None], ...]  # (role key, scope department code or None = org)
    manager: str | None = None
    note: str = ""


USERS = [
    DemoUser(
        "admin",
        "系统管理员 Admin",
        "HQ",
        (("sysadmin", None),),
        note="manages users, roles, settings; sees no finance data",
    ),
    DemoUser(
        "finadmin",
        "方芳 Fang Fang",
        "FIN",
        (("finance_admin", None), ("staff", "FIN")),
        note="designs templates, manages data sources",
    ),
    DemoUser(
        "finrev",
        "钱审 Qian Shen",
        "FIN",
        (("finance_reviewer", None), ("staff", "FIN")),
        note="reviews claims and budgets of all departments",
    ),
    DemoUser("cfo", "高远 Gao Yuan", "HQ", (("cfo", None), ("staff", "HQ")), note="final approval"),
    DemoUser(
        "salesmgr",
        "孙经理 Sun Jingli",
        "SALES",
        (("dept_manager", "SALES"), ("staff", "SALES")),
        note="manager of SALES and SALES-E",
    ),
    DemoUser("sales1", "李明 Li Ming", "SALES", (("staff", "SALES"),), manager="salesmgr"),
    DemoUser("sales2", "王芳 Wang Fang", "SALES", (("staff", "SALES"),), manager="salesmgr"),
    DemoUser("sales3", "张伟 Zhang Wei", "SALES-E", (("staff", "SALES-E"),), manager="salesmgr"),
    DemoUser("rdmgr", "陈工 Chen Gong", "RD", (("dept_manager", "RD"), ("staff", "RD"))),
    DemoUser("rd1", "刘洋 Liu Yang", "RD", (("staff", "RD"),), manager="rdmgr"),
    DemoUser(
        "hr1",
        "赵敏 Zhao Min",
        "HR",
        (("hr_officer", None), ("staff", "HR")),
        note="maintains personnel status",
    ),
    DemoUser(
        "auditor",
        "周审计 Zhou Shenji",
        "HQ",
        (("auditor", None),),
        note="reads everything incl. the audit log; changes nothing",
    ),
]

DEPARTMENT_MANAGERS = {"SALES": "salesmgr", "SALES-E": "salesmgr", "RD": "rdmgr", "HQ": "cfo"}


def is_seeded() -> bool:
    return db.session.scalar(select(User).where(User.username == "admin")) is not None


def seed_roles() -> dict[str, Role]:
    roles = {}
    for key, zh, en, perms in ROLES:
        existing = db.session.scalar(select(Role).where(Role.key == key))
        roles[key] = existing or save_role(
            None, key=key, name_zh=zh, name_en=en, permissions=[p.value for p in perms]
        )
    return roles


def seed_governance() -> None:
    """Role owners, risk and the SoD rules; fills only what is not set yet, so a database
    seeded before permission governance existed gets them at the next start."""
    for role in db.session.scalars(select(Role)):
        if role.owner_role_key is not None:
            continue
        role.owner_role_key = "finance_admin" if role.key in FINANCE_ROLES else "sysadmin"
        role.high_risk = role.key in HIGH_RISK_ROLES
        role.security_approver_role_key = "cfo" if role.high_risk else None
        role.temporary_only = role.key in TEMPORARY_ROLES
        role.max_days = TEMPORARY_ROLES.get(role.key)
    for key, zh, en, left, right, same_department, enabled in SOD_RULES:
        if db.session.scalar(select(SodRule).where(SodRule.key == key)) is None:
            db.session.add(
                SodRule(
                    key=key,
                    name_zh=zh,
                    name_en=en,
                    left_permissions=[p.value for p in left],
                    right_permissions=[p.value for p in right],
                    same_department=same_department,
                    enabled=enabled,
                )
            )
    db.session.flush()


def seed_demo() -> bool:
    """Create the demo organisation; returns False when it was already there."""
    if is_seeded():
        if not sample_ledger_path().exists() or not _ledger_has_references():
            write_sample_ledger(clock.today())
        seed_projects()
        seed_governance()
        db.session.commit()
        return False
    roles = seed_roles()
    seed_governance()
    depts: dict[str, Department] = {}
    for code, zh, en, parent, cc in DEPARTMENTS:
        depts[code] = save_department(
            None,
            code=code,
            name_zh=zh,
            name_en=en,
            parent=depts.get(parent) if parent else None,
            cost_center=cc,
        )
    users: dict[str, User] = {}
    for spec in USERS:
        users[spec.username] = save_user(
            None,
            username=spec.username,
            display_name=spec.display_name,
            department=depts[spec.department],
            email=f"{spec.username}@example.com",
            manager=users.get(spec.manager) if spec.manager else None,
            password=DEMO_PASSWORD,
        )
    for username, cost_center in PERSONAL_COST_CENTRES.items():
        users[username].cost_center = cost_center
    for code, username in DEPARTMENT_MANAGERS.items():
        depts[code].manager = users[username]
    for spec in USERS:
        if spec.manager is None and spec.department in DEPARTMENT_MANAGERS:
            boss = DEPARTMENT_MANAGERS[spec.department]
            if boss != spec.username:
                users[spec.username].manager = users[boss]
    for mgr in ("salesmgr", "rdmgr", "finrev", "finadmin", "hr1"):
        users[mgr].manager = users[mgr].manager or users["cfo"]
    for spec in USERS:
        for role_key, dept_code in spec.roles:
            grant_role(
                None,
                users[spec.username],
                roles[role_key],
                department=depts[dept_code] if dept_code else None,
                include_subtree=role_key != "staff",
                note="demo organisation",
            )
    from .forms.templates import import_builtins

    import_builtins(None)
    db.session.commit()
    try:
        from .demo_data import seed_sample_data
    except ModuleNotFoundError:
        return True
    seed_sample_data(clock.today())
    db.session.commit()
    write_sample_ledger(clock.today())
    seed_projects()
    db.session.commit()
    return True


PROJECTS = [
    ("P-EAST-01", "华东渠道拓展 East China channels"),
    ("P-CRM-02", "客户关系系统升级 CRM upgrade"),
    ("P-RD-03", "新一代平台研发 Next platform"),
    ("P-HR-04", "校园招聘 Campus hiring"),
]


def seed_projects() -> None:
    """The project list the expense claim's project picker reads: a CSV file data source."""
    import csv

    from .datasources.service import SourceInput, find_source, save

    if find_source("projects") is None:
        listed = [{"name": "projects.csv", "columns": {"code": "text", "name": "text"}}]
        save(
            None,
            SourceInput(
                key="projects", name="项目清单 Projects", connector="file", values={"files": listed}
            ),
        )
    from . import files

    key = f"{files.DATASOURCES}/projects/projects.csv"
    if files.exists(files.store(), key):
        return
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["code", "name"])
    writer.writerows(PROJECTS)
    files.store().put(key, text.getvalue().encode("utf-8-sig"))


def sample_ledger_path() -> Path:
    """In the ``erp-actuals`` source's own folder: the only place inside the instance folder a
    SQLite data source may read."""
    return Path(current_app.config["INSTANCE_PATH"]) / "datasources" / "erp-actuals" / "ledger.db"


#: Accounts the sample ERP also books outside claims (supplier invoices); training is paid
#: through claims alone, so RD's training stays the budget-warning demo with the ledger added.
LEDGER_OWN_ACCOUNTS = ("travel", "meals", "office", "other")


def _ledger_has_references() -> bool:
    """Whether the sample ledger's postings carry a reference (those written before did not,
    and budget actuals need it to tell a posted claim from the ERP's own postings)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(sample_ledger_path())) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(gl_actuals)")}
    return "reference" in columns


def write_sample_ledger(today: date) -> Path | None:
    """The ERP's GL actuals for this year as a SQLite file, when the quire-erp-ledger plugin is
    installed: a finance admin adds it as the ``erp-actuals`` data source (issue 7's story).
    As a real ERP does, it holds this year's approved claims, posted under their numbers,
    beside its own postings; budget actuals count a posted claim once."""
    try:
        from quire_erp_ledger.sample import generate
    except ModuleNotFoundError:
        return None
    from sqlalchemy import create_engine

    path = sample_ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    try:
        generate(
            engine,
            today.year,
            months=max(1, today.month - 1),
            posted=posted_claims(today.year),
            accounts=LEDGER_OWN_ACCOUNTS,
        )
    finally:
        engine.dispose()
    return path


def posted_claims(year: int) -> list[dict[str, Any]]:
    """This year's approved claim lines as the ERP posts them: in the claim's period, under
    the claim's number."""
    from .budgeting.actuals import claim_forms
    from .reports.sources import Filters, submission_lines

    posted = []
    for form in claim_forms():
        for line in submission_lines(None, form.config, Filters(year=year), "zh_CN"):
            day, period = line.get("date"), line["period"]
            if not line.get(form.account) or line.get("amount") is None:
                continue
            if not isinstance(day, date) or (day.year, day.month) != (period.year, period.month):
                day = period
            posted.append(
                {
                    "department": line["department"],
                    "account": line[form.account],
                    "posted_on": day,
                    "amount": line["amount"],
                    "reference": line["number"],
                    "description": str(line.get("description") or ""),
                }
            )
    return posted


def logins_table() -> str:
    width = max(len(u.username) for u in USERS)
    lines = [f"Demo logins (password {DEMO_PASSWORD!r} for all, demo only):"]
    for u in USERS:
        roles = ", ".join(r for r, _ in u.roles if r != "staff") or "staff"
        lines.append(f"  {u.username.ljust(width)}  {u.department:<8} {roles}")
    ledger = sample_ledger_path()
    if ledger.exists():
        lines.append(
            f"Sample ERP ledger: sqlite:///{ledger}  (finadmin: Data sources → new "
            "'erp_ledger' source with key erp-actuals)"
        )
    return "\n".join(lines)
