"""Keep Quire's organisation in step with the HR system.

The HR directory says who works here, in which department, under whom, in which position,
and who has left. :func:`plan` compares that with Quire and returns the changes, each one a
sentence and an action; :func:`apply` carries them out through the organisation services
(:mod:`quire.runtime.org`), so every change is audited as if an administrator made it. A dry
run is the plan without the apply.

- new hires get an account (no password: they sign in through SSO or a reset);
- moves change the department and manager;
- someone marked ``left`` is deactivated at once (:func:`org.set_status` ends their sessions
  and moves their open approval tasks to their manager) and loses every grant;
- a position maps to base role grants (*position templates*, ``HR_POSITIONS`` or the file in
  ``HR_POSITIONS_FILE``): a hire or a move gets the new position's grants and loses the old
  one's. Grants given by hand are left alone.

People Quire knows but the HR file does not mention are left alone too: an export may be
partial, and only an explicit ``left`` deactivates anyone.

The records come from a configured data source whose connector answers the queries
``employees`` and ``departments`` (the ``quire-hr-directory`` plugin), or from a CSV file
read here (:func:`read_employees_csv`), so the command works without the plugin.
"""

from __future__ import annotations

import csv
import json
import tomllib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from . import access, audit, org
from .errors import QuireError
from .extensions import db
from .models import Department, EmployeeRecord, RoleGrant, User, UserStatus

#: The data source the scheduled sync reads unless ``HR_SYNC_SOURCE`` names another.
DEFAULT_SOURCE = "hr-directory"
EMPLOYEE_COLUMNS = (
    "employee_no",
    "username",
    "display_name",
    "email",
    "department",
    "manager",
    "position",
    "status",
)
#: Scope words of a position template: the employee's own department (with its subtree),
#: the whole organisation; anything else is a department code.
OWN, ORG = "own", "org"

PositionMap = dict[str, list[tuple[str, str]]]


class SyncInputError(QuireError):
    """The HR input cannot be read at all (missing file, wrong columns, bad position map)."""

    status, code = 422, "invalid"


@dataclass(frozen=True)
class Employee:
    """One person as the HR system exports them."""

    username: str
    display_name: str
    department: str
    employee_no: str | None = None
    email: str | None = None
    manager: str | None = None
    position: str | None = None
    #: ``active``, ``on_leave`` or ``left``.
    status: str = "active"


@dataclass(frozen=True)
class HrDepartment:
    code: str
    name_zh: str
    name_en: str
    parent: str | None = None


@dataclass
class Change:
    """One thing the sync will do (or did): a kind, who or what, and a sentence."""

    kind: str
    subject: str
    detail: str
    run: Callable[[], None] = field(repr=False, default=lambda: None)


@dataclass
class SyncResult:
    changes: list[Change]
    #: Rows that could not be synced, each a sentence naming the row.
    errors: list[str]
    dry_run: bool
    #: The id of the run that applied the plan; every audit event it made names it.
    run: str | None = None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for change in self.changes:
            out[change.kind] = out.get(change.kind, 0) + 1
        return out


# --- reading the HR data ------------------------------------------------------------------------


def _clean(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def employees_from_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[list[Employee], list[str]]:
    people, errors = [], []
    for line, row in enumerate(rows, start=1):
        username, department = _clean(row.get("username")), _clean(row.get("department"))
        status = (_clean(row.get("status")) or "active").lower()
        if not username or not department:
            errors.append(f"row {line}: username and department are required")
            continue
        if status not in {s.value for s in UserStatus}:
            errors.append(f"row {line} ({username}): unknown status {status!r}")
            continue
        people.append(
            Employee(
                username=username,
                display_name=_clean(row.get("display_name")) or username,
                department=department.upper(),
                employee_no=_clean(row.get("employee_no")),
                email=_clean(row.get("email")),
                manager=_clean(row.get("manager")),
                position=_clean(row.get("position")),
                status=status,
            )
        )
    return people, errors


def departments_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[HrDepartment]:
    out = []
    for row in rows:
        code = _clean(row.get("code"))
        if code:
            name_zh = _clean(row.get("name_zh")) or code
            out.append(
                HrDepartment(
                    code.upper(),
                    name_zh,
                    _clean(row.get("name_en")) or name_zh,
                    (_clean(row.get("parent")) or "").upper() or None,
                )
            )
    return out


def _read_csv(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    except (OSError, UnicodeError, csv.Error) as exc:
        raise SyncInputError(f"{path} cannot be read: {exc}") from exc


def read_employees_csv(path: Path) -> tuple[list[Employee], list[str]]:
    """The core CSV reader: UTF-8 (BOM allowed), a header with at least ``username``,
    ``display_name`` and ``department``; see :data:`EMPLOYEE_COLUMNS`."""
    rows = _read_csv(path)
    if rows and not {"username", "department"} <= set(rows[0]):
        raise SyncInputError(f"{path} needs the columns {', '.join(EMPLOYEE_COLUMNS)}.")
    return employees_from_rows(rows)


def read_departments_csv(path: Path) -> list[HrDepartment]:
    return departments_from_rows(_read_csv(path))


def read_source(key: str) -> tuple[list[Employee], list[HrDepartment], list[str]]:
    """Employees and departments from a configured data source (queries ``employees`` and,
    if the connector has it, ``departments``)."""
    from quire.plugins.base import ConnectorError, QueryRejected

    from .datasources import service

    source = service.source_by_key(key)
    limit = 1_000_000
    people, errors = employees_from_rows(service.fetch(source, "employees", {}, limit))
    try:
        service.guarded(source).columns("departments")
    except QueryRejected:
        return people, [], errors  # a directory without departments: people only
    except ConnectorError as exc:
        raise service.SourceUnavailableError(exc.message) from exc
    departments = departments_from_rows(service.fetch(source, "departments", {}, limit))
    return people, departments, errors


def load_positions(path: Path) -> PositionMap:
    """A position map from TOML or JSON: ``{position: [[role, scope], ...]}``, optionally under
    a ``positions`` key; scope is ``own``, ``org`` or a department code."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise SyncInputError(f"The position map {path} cannot be read: {exc}") from exc
    return parse_positions(raw)


def parse_positions(raw: Any) -> PositionMap:
    if isinstance(raw, Mapping) and isinstance(raw.get("positions"), Mapping):
        raw = raw["positions"]
    if not isinstance(raw, Mapping):
        raise SyncInputError("A position map is a table of position → [[role, scope], ...].")
    out: PositionMap = {}
    for position, grants in raw.items():
        pairs = []
        for item in grants if isinstance(grants, list) else [None]:
            if not (isinstance(item, list | tuple) and len(item) == 2):
                raise SyncInputError(f"Position {position}: each grant is [role, scope].")
            pairs.append((str(item[0]), str(item[1])))
        out[str(position)] = pairs
    return out


def configured_positions() -> PositionMap:
    """``HR_POSITIONS`` (a table in the instance's quire.toml) or ``HR_POSITIONS_FILE``."""
    inline = current_app.config.get("HR_POSITIONS")
    if inline:
        return parse_positions(inline)
    path = current_app.config.get("HR_POSITIONS_FILE")
    return load_positions(Path(path)) if path else {}


# --- planning -------------------------------------------------------------------------------------


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def _department(code: str) -> Department | None:
    return db.session.scalar(select(Department).where(Department.code == code))


def _record(user: User) -> EmployeeRecord | None:
    return db.session.scalar(select(EmployeeRecord).where(EmployeeRecord.user_id == user.id))


def _current_grants(user: User) -> list[RoleGrant]:
    return access.current_grants(user)


def position_grants(
    positions: PositionMap, position: str | None, department: str
) -> set[tuple[str, str | None]]:
    """(role key, department code or None for organisation-wide) a position gives."""
    if not position or position not in positions:
        return set()
    out = set()
    for role, scope in positions[position]:
        out.add((role, department if scope == OWN else None if scope == ORG else scope.upper()))
    return out


def plan(
    employees: list[Employee],
    departments: list[HrDepartment],
    positions: PositionMap,
    *,
    actor: User | None = None,
) -> SyncResult:
    """What the sync would change, in the order it must be applied; reads, never writes."""
    errors: list[str] = []
    first: list[Change] = []  # departments, then people
    managers: list[Change] = []
    grants: list[Change] = []
    leavers: list[Change] = []
    first.extend(_plan_departments(departments, actor))
    known = {d.code for d in departments} | set(db.session.scalars(select(Department.code)))
    for person in employees:
        if person.department not in known:
            errors.append(f"{person.username}: unknown department {person.department}")
            continue
        if positions and person.position and person.position not in positions:
            errors.append(f"{person.username}: position {person.position!r} has no template")
        user = _user(person.username)
        if user is None and person.employee_no:
            user = db.session.scalar(
                select(User)
                .join(EmployeeRecord, EmployeeRecord.user_id == User.id)
                .where(EmployeeRecord.employee_no == person.employee_no)
            )
        if person.status == UserStatus.LEFT.value:
            if user is not None and user.status != UserStatus.LEFT:
                leavers.append(_leave(user, actor))
            continue
        first.extend(_plan_person(person, user, actor))
        managers.extend(_plan_manager(person, user, actor))
        grants.extend(_plan_grants(person, user, positions, actor))
    return SyncResult([*first, *managers, *grants, *leavers], errors, dry_run=True)


def _plan_departments(departments: list[HrDepartment], actor: User | None) -> list[Change]:
    changes: list[Change] = []
    by_code = {d.code: d for d in departments}

    def depth(d: HrDepartment) -> int:
        seen, n = set(), 0
        while d.parent and d.parent in by_code and d.parent not in seen:
            seen.add(d.code)
            d, n = by_code[d.parent], n + 1
        return n

    for hr in sorted(departments, key=depth):
        existing = _department(hr.code)
        parent_now = existing.parent.code if existing and existing.parent else None
        if existing is not None and (existing.name_zh, existing.name_en, parent_now) == (
            hr.name_zh,
            hr.name_en,
            hr.parent,
        ):
            continue

        def run(hr: HrDepartment = hr) -> None:
            current = _department(hr.code)
            org.save_department(
                actor,
                code=hr.code,
                name_zh=hr.name_zh,
                name_en=hr.name_en,
                parent=_department(hr.parent) if hr.parent else None,
                manager=current.manager if current else None,
                cost_center=current.cost_center if current else None,
                active=current.active if current else True,
                existing=current,
            )

        if existing is None:
            detail = f"new department {hr.code} {hr.name_zh} under {hr.parent or '-'}"
            changes.append(Change("department.create", hr.code, detail, run))
        else:
            was = f"{existing.name_zh} under {parent_now or '-'}"
            detail = f"{hr.code}: {was} → {hr.name_zh} under {hr.parent or '-'}"
            changes.append(Change("department.update", hr.code, detail, run))
    return changes


def _plan_person(person: Employee, user: User | None, actor: User | None) -> list[Change]:
    status = UserStatus(person.status)
    if user is None:

        def create() -> None:
            created = org.save_user(
                actor,
                username=person.username,
                display_name=person.display_name,
                department=org.department_by_code(person.department),
                email=person.email,
                status=status,
            )
            _remember(created, person)

        detail = f"new hire {person.username} ({person.display_name}) in {person.department}"
        return [Change("user.create", person.username, detail, create)]
    changes: list[Change] = []
    moved = user.department.code != person.department
    details_changed = (user.display_name, user.email) != (person.display_name, person.email)
    if moved or details_changed:

        def update(user: User = user) -> None:
            org.save_user(
                actor,
                username=user.username,
                display_name=person.display_name,
                department=org.department_by_code(person.department),
                email=person.email,
                manager=user.manager,
                status=user.status,
                locale=user.locale,
                delegate=user.delegate,
                delegate_from=user.delegate_from,
                delegate_until=user.delegate_until,
                existing=user,
            )

        if moved:
            detail = f"{user.username} moves {user.department.code} → {person.department}"
            changes.append(Change("user.move", user.username, detail, update))
        else:
            detail = f"{user.username}: name or email → {person.display_name} {person.email or ''}"
            changes.append(Change("user.update", user.username, detail.strip(), update))
    if user.status != status:

        def set_status(user: User = user) -> None:
            org.set_status(actor, user, status)

        kind = "user.return" if user.status == UserStatus.LEFT else "user.status"
        detail = f"{user.username}: {user.status.value} → {status.value}"
        changes.append(Change(kind, user.username, detail, set_status))
    record = _record(user)
    if record is None or (record.employee_no, record.position) != (
        person.employee_no,
        person.position,
    ):
        old = record.position if record else None
        detail = f"{user.username}: position {old or '-'} → {person.position or '-'}"

        def remember(user: User = user) -> None:
            _remember(user, person)

        changes.append(Change("user.position", user.username, detail, remember))
    return changes


def _remember(user: User, person: Employee) -> None:
    record = _record(user) or EmployeeRecord(user_id=user.id)
    before = {"employee_no": record.employee_no, "position": record.position}
    record.employee_no, record.position = person.employee_no, person.position
    db.session.add(record)
    db.session.flush()
    audit.record(
        None,
        "employee.record",
        object_type="user",
        object_id=user.username,
        changes=audit.changes_between(
            before, {"employee_no": person.employee_no, "position": person.position}
        ),
        actor_name="hr-sync",
    )


def _plan_manager(person: Employee, user: User | None, actor: User | None) -> list[Change]:
    current = user.manager.username if user is not None and user.manager else None
    if (current or "").lower() == (person.manager or "").lower():
        return []
    if person.manager and person.manager.lower() == person.username.lower():
        return []

    def run() -> None:
        target = org.user_by_username(person.username)
        manager = _user(person.manager) if person.manager else None
        org.save_user(
            actor,
            username=target.username,
            display_name=target.display_name,
            department=target.department,
            email=target.email,
            manager=manager,
            status=target.status,
            locale=target.locale,
            delegate=target.delegate,
            delegate_from=target.delegate_from,
            delegate_until=target.delegate_until,
            existing=target,
        )

    detail = f"{person.username}: manager {current or '-'} → {person.manager or '-'}"
    return [Change("user.manager", person.username, detail, run)]


def _plan_grants(
    person: Employee, user: User | None, positions: PositionMap, actor: User | None
) -> list[Change]:
    if not positions:
        return []
    new = position_grants(positions, person.position, person.department)
    held: set[tuple[str, str | None]] = set()
    old: set[tuple[str, str | None]] = set()
    if user is not None:
        held = {
            (g.role.key, g.department.code if g.department else None) for g in _current_grants(user)
        }
        # Without a record from an earlier sync, the position is taken as unchanged, so a
        # move still trades the old department's grants for the new one's.
        record = _record(user)
        before = record.position if record is not None and record.position else person.position
        old = position_grants(positions, before, user.department.code)
    changes: list[Change] = []
    for role, dept in sorted(old - new, key=str):
        if (role, dept) not in held:
            continue

        def revoke(role: str = role, dept: str | None = dept) -> None:
            target = org.user_by_username(person.username)
            for grant in _current_grants(target):
                code = grant.department.code if grant.department else None
                if grant.role.key == role and code == dept:
                    org.revoke_grant(actor, grant, reason="HR sync: position changed")

        detail = f"{person.username} loses {role} @ {dept or 'organisation'}"
        changes.append(Change("grant.revoke", person.username, detail, revoke))
    for role, dept in sorted(new - held, key=str):

        def add(role: str = role, dept: str | None = dept) -> None:
            org.grant_role(
                actor,
                org.user_by_username(person.username),
                org.role_by_key(role),
                department=org.department_by_code(dept) if dept else None,
                note=f"HR sync: position {person.position}",
            )

        detail = f"{person.username} gets {role} @ {dept or 'organisation'}"
        changes.append(Change("grant.add", person.username, detail, add))
    return changes


def _leave(user: User, actor: User | None) -> Change:
    def run() -> None:
        org.deprovision(actor, user, reason="HR sync: left the company")

    detail = f"{user.username} has left: sign-in stops, grants revoked, open tasks reassigned"
    return Change("user.leave", user.username, detail, run)


# --- applying ---------------------------------------------------------------------------------


def apply(result: SyncResult, *, source: str, actor: User | None = None) -> SyncResult:
    """Carry out a plan; a change that fails is reported and the others go on. The caller
    commits."""
    done: list[Change] = []
    errors = list(result.errors)
    run = uuid.uuid4().hex[:16]
    # Every event the changes record (through the organisation services) names the feed and
    # this run, so an auditor can tell which export made which change.
    with audit.origin("hr-sync", feed=source, run=run):
        for change in result.changes:
            try:
                with db.session.begin_nested():
                    change.run()
            except QuireError as exc:
                errors.append(f"{change.subject}: {change.kind} failed: {exc.message}")
            else:
                done.append(change)
        outcome = SyncResult(done, errors, dry_run=False, run=run)
        audit.record(
            actor,
            "hr.sync",
            object_type="hr_sync",
            object_id=source[:64],
            changes={"counts": outcome.counts(), "errors": errors[:50]},
        )
    return outcome


def sync(
    employees: list[Employee],
    departments: list[HrDepartment],
    positions: PositionMap,
    *,
    source: str,
    dry_run: bool = False,
    actor: User | None = None,
    errors: Iterable[str] = (),
) -> SyncResult:
    planned = plan(employees, departments, positions, actor=actor)
    planned.errors[:0] = list(errors)
    if dry_run:
        return planned
    return apply(planned, source=source, actor=actor)


def feed_key() -> str:
    """The key of the data source the scheduled sync reads (the HR feed)."""
    return str(current_app.config.get("HR_SYNC_SOURCE") or DEFAULT_SOURCE)


def run_scheduled() -> dict[str, Any]:
    """The periodic job: sync from the configured HR data source, if there is one."""
    from .datasources import service

    key = feed_key()
    if service.find_source(key) is None:
        return {"skipped": f"no data source {key!r}"}
    employees, departments, errors = read_source(key)
    result = sync(
        employees, departments, configured_positions(), source=f"source:{key}", errors=errors
    )
    db.session.commit()
    return {"counts": result.counts(), "errors": len(result.errors), "run": result.run}
