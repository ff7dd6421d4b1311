"""Who holds a step: assignee rules resolved to people, then absence and separation of duties.

A step's assignee rule (a role within a scope, a manager, a department head, a named user,
a user-picker field) gives candidates. Each candidate is then settled: someone who left
is replaced by their manager, someone away with a delegate by the delegate ("X for Y"),
someone away without one by their manager, and someone who submitted or edited the form
by their manager. Every replacement is kept as a note so the history can say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from quire.designer.approval import (
    ApprovalStep,
    DepartmentHead,
    ManagerOfDepartmentField,
    ManagerOfSubmitter,
    ManagerOfUserField,
    NamedUser,
    RoleAssignee,
    RoleOwner,
    SecurityApprover,
    UserFieldAssignee,
)

from .. import access, clock
from ..access import Permission as P
from ..extensions import db
from ..models import Department, Role, RoleGrant, Submission, User, UserStatus, utcnow

#: How far up a management chain the engine looks for someone eligible.
MAX_HOPS = 8


class NoApprover(Exception):
    """Nobody eligible could be found for a step (the engine turns this into a 409)."""


class StepNotNeeded(NoApprover):
    """The step's rule says nobody needs to decide this form (a role that is not high-risk
    has no security approver; a manager's request for their own report needs no second
    word from that manager): the engine passes the step with this reason in the history."""

    def __init__(self, step: str, en: str, zh: str) -> None:
        super().__init__(step)
        self.en, self.zh = en, zh


class DecidedAlready(NoApprover):
    """Only people who already decided another step of the form could take this one:
    four eyes across steps forbids it, so the engine records why and moves on."""

    def __init__(self, step: str, person: User) -> None:
        super().__init__(step)
        self.person = person

    def sentence_en(self, step_name: str) -> str:
        return (
            f"Nobody else may decide “{step_name}”: {self.person.display_name} already "
            "decided another step of this form and nobody decides two (four eyes); "
            "that decision stands for this step."
        )

    def sentence_zh(self, step_name: str) -> str:
        return (
            f"“{step_name}”没有其他可审批的人：{self.person.display_name} 已审批过本单的"
            "另一步骤，同一人不能审批两个步骤（四眼原则），以其已有的审批意见为准。"
        )


@dataclass(frozen=True)
class Note:
    """Why a task went to someone other than the rule's candidate."""

    kind: str  # delegate | left | on_leave | separation_of_duties | four_eyes | fallback
    original: User
    replacement: User

    def sentence_en(self) -> str:
        x, y = self.original.display_name, self.replacement.display_name
        return {
            "delegate": f"{y} for {x} (delegate while away)",
            "left": f"{x} has left; passed to {y}",
            "on_leave": f"{x} is away with no delegate; passed to {y}",
            "separation_of_duties": f"{x} submitted or edited this form; passed to {y}",
            "four_eyes": f"{x} already decided another step of this form; passed to {y}",
            "fallback": f"no eligible approver for the rule; passed to {y}",
        }[self.kind]

    def sentence_zh(self) -> str:
        x, y = self.original.display_name, self.replacement.display_name
        return {
            "delegate": f"{y} 代 {x} 审批（休假代理）",
            "left": f"{x} 已离职，转交 {y}",
            "on_leave": f"{x} 休假且未设代理人，转交 {y}",
            "separation_of_duties": f"{x} 提交或修改过本单（职责分离），转交 {y}",
            "four_eyes": f"{x} 已审批过本单的另一步骤（四眼原则），转交 {y}",
            "fallback": f"规则找不到可审批的人，转交 {y}",
        }[self.kind]


@dataclass
class Assignment:
    """One task to create: who holds it, for whom, and the notes on how they were found."""

    user: User
    on_behalf_of: User | None = None
    notes: list[Note] = field(default_factory=list)


local_today = clock.today
local_now = clock.local_now


def due_at(step: ApprovalStep, start: datetime) -> datetime | None:
    """When the step's tasks become overdue: working days skip Saturdays and Sundays."""
    if step.due is None:
        return None
    if step.due.hours is not None:
        return start + timedelta(hours=step.due.hours)
    moment = start.astimezone(clock.zone())
    left = step.due.working_days or 0
    while left:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            left -= 1
    return moment.astimezone(start.tzinfo)


# --- the rule's candidates -----------------------------------------------------------------------
def _department(code: Any) -> Department | None:
    if not code:
        return None
    return db.session.scalar(select(Department).where(Department.code == str(code)))


def head_of(department: Department | None, *, besides: User | None = None) -> User | None:
    """The manager of ``department`` or, if it has none (or it is ``besides``), of the nearest
    department above it."""
    hops = 0
    while department is not None and hops <= MAX_HOPS:
        manager = department.manager
        if manager is not None and (besides is None or manager.id != besides.id):
            return manager
        department = department.parent
        hops += 1
    return None


def manager_of(user: User) -> User | None:
    """A person's line manager, else the head of their department (or above)."""
    if user.manager is not None and user.manager.id != user.id:
        return user.manager
    return head_of(user.department, besides=user)


def role_holders(role_key: str, department: Department | None = None) -> list[User]:
    now = utcnow()
    users = db.session.scalars(
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .join(Role, Role.id == RoleGrant.role_id)
        .where(
            Role.key == role_key,
            access.grant_is_current(now),
            User.status != UserStatus.LEFT,
        )
        .order_by(User.username)
        .distinct()
    ).all()
    if department is None:
        return list(users)
    return [u for u in users if role_key in access.roles_in(u, department)]


def candidates(step: ApprovalStep, submission: Submission, values: Mapping[str, Any]) -> list[User]:
    """The people the step's assignee rule names, before absence and separation of duties."""
    rule = step.assignee
    submitter = submission.submitter
    found: list[User | None] = []
    if isinstance(rule, RoleAssignee):
        if rule.scope == "submitter_department":
            target = submitter.department
        elif rule.scope == "department_field":
            target = _department(values.get(rule.field or ""))
        else:
            target = submission.department
        found = list(role_holders(rule.role, target))
        if not found and rule.scope == "organisation":
            found = list(role_holders(rule.role, None))
    elif isinstance(rule, ManagerOfSubmitter):
        found = [manager_of(submitter)]
    elif isinstance(rule, ManagerOfDepartmentField):
        found = [head_of(_department(values.get(rule.field)) or submission.department)]
    elif isinstance(rule, DepartmentHead):
        department: Department | None = submitter.department
        for _ in range(rule.levels_up):
            department = department.parent if department is not None else None
        found = [head_of(department)]
    elif isinstance(rule, NamedUser):
        found = [db.session.scalar(select(User).where(User.username == rule.username))]
    elif isinstance(rule, UserFieldAssignee):
        username = values.get(rule.field)
        if username:
            found = [db.session.scalar(select(User).where(User.username == str(username)))]
    elif isinstance(rule, ManagerOfUserField):
        found = [_manager_of_named(step, submission, values.get(rule.field))]
    elif isinstance(rule, RoleOwner):
        role = _role(values.get(rule.field))
        found = list(role_owners(role)) if role is not None else []
    elif isinstance(rule, SecurityApprover):
        found = _security_approvers(step, _role(values.get(rule.field)))
    unique: dict[int, User] = {}
    for user in found:
        if user is not None:
            unique.setdefault(user.id, user)
    return list(unique.values())


def _role(key: Any) -> Role | None:
    if not key:
        return None
    return db.session.scalar(select(Role).where(Role.key == str(key)))


def _manager_of_named(step: ApprovalStep, submission: Submission, username: Any) -> User | None:
    """The manager of the person a form names (the submitter when it names nobody); the step
    is not needed when that manager filed the form: their request is their consent."""
    person = submission.submitter
    if username:
        named = db.session.scalar(select(User).where(User.username == str(username)))
        person = named or person
    manager = manager_of(person)
    if manager is not None and access.is_submitter(manager, submission):
        raise StepNotNeeded(
            step.key,
            f"{manager.display_name} is {person.display_name}'s manager and made the request "
            "themself; their request is the manager's consent.",
            f"{manager.display_name} 是 {person.display_name} 的经理，申请由其本人提出，"
            "视为经理已同意。",
        )
    return manager


def role_owners(role: Role) -> list[User]:
    """Who approves requests for ``role``: holders of its owner role, or, when it names
    none, the people who manage roles."""
    if role.owner_role_key:
        return role_holders(role.owner_role_key)
    return [
        u
        for u in db.session.scalars(
            select(User).where(User.status != UserStatus.LEFT).order_by(User.username)
        )
        if access.can(u, P.ROLE_MANAGE)
    ]


def _security_approvers(step: ApprovalStep, role: Role | None) -> list[User]:
    if role is None or not role.high_risk:
        name_en = role.name_en if role is not None else "the role"
        name_zh = role.name_zh if role is not None else "该角色"
        raise StepNotNeeded(
            step.key,
            f"{name_en} is not a high-risk role; no security approval is needed.",
            f"{name_zh} 不是高风险角色，无需安全审批。",
        )
    if role.security_approver_role_key:
        return role_holders(role.security_approver_role_key)
    return role_owners(role)


# --- settling each candidate ---------------------------------------------------------------------
def settle(
    user: User,
    submission: Submission,
    today: date,
    step: str | None = None,
    *,
    across_steps: bool = True,
) -> Assignment | None:
    """The person who actually gets ``user``'s task at ``step``, or None if nobody eligible
    is found."""
    notes: list[Note] = []
    current: User | None = user
    seen: set[int] = set()
    for _ in range(MAX_HOPS):
        if current is None or current.id in seen:
            return None
        seen.add(current.id)
        if current.status == UserStatus.LEFT:
            nxt = manager_of(current)
            if nxt is not None:
                notes.append(Note("left", current, nxt))
            current = nxt
            continue
        if access.delegation_active(current, today):
            delegate = current.delegate
            if (
                delegate is not None
                and delegate.is_active
                and access.separation_of_duties(
                    delegate, submission, step, across_steps=across_steps
                )
                is None
            ):
                notes.append(Note("delegate", current, delegate))
                return Assignment(delegate, on_behalf_of=current, notes=notes)
        if current.status == UserStatus.ON_LEAVE:
            nxt = manager_of(current)
            if nxt is not None:
                notes.append(Note("on_leave", current, nxt))
            current = nxt
            continue
        conflict = access.separation_of_duties(current, submission, step, across_steps=across_steps)
        if conflict is not None:
            nxt = manager_of(current)
            if nxt is not None:
                kind = (
                    "four_eyes"
                    if conflict == access.DECIDED_ANOTHER_STEP
                    else "separation_of_duties"
                )
                notes.append(Note(kind, current, nxt))
            current = nxt
            continue
        return Assignment(current, notes=notes)
    return None


def _fallback(
    submission: Submission, today: date, step: str | None = None, *, across_steps: bool = True
) -> Assignment | None:
    """Nobody from the rule is eligible: the department heads above, then any approver in scope."""
    tried: set[int] = set()
    department: Department | None = submission.department
    people: list[User] = []
    while department is not None and len(people) < MAX_HOPS:
        if department.manager is not None:
            people.append(department.manager)
        department = department.parent
    people += [
        u
        for u in db.session.scalars(
            select(User).where(User.status != UserStatus.LEFT).order_by(User.username)
        )
        if access.can(u, P.SUBMISSION_APPROVE, submission)
    ]
    for person in people:
        if person.id in tried:
            continue
        tried.add(person.id)
        settled = settle(person, submission, today, step, across_steps=across_steps)
        if settled is not None:
            return settled
    return None


def assign(
    step: ApprovalStep, submission: Submission, values: Mapping[str, Any], today: date
) -> list[Assignment]:
    """The tasks to create for ``step``: one per eligible person, never the same person twice."""
    result: dict[int, Assignment] = {}
    for candidate in candidates(step, submission, values):
        settled = settle(candidate, submission, today, step.key)
        if settled is not None and settled.user.id not in result:
            result[settled.user.id] = settled
    needed = step.required if step.mode == "n_of_m" and step.required else 1
    if len(result) < needed and not result:
        fallback = _fallback(submission, today, step.key)
        if fallback is not None:
            original = candidates(step, submission, values)
            if original:
                fallback.notes.append(Note("fallback", original[0], fallback.user))
            result[fallback.user.id] = fallback
    if not result:
        # Would anyone be eligible but for four eyes across steps? Then the step is
        # covered by that person's earlier decision rather than decided twice.
        for candidate in candidates(step, submission, values):
            settled = settle(candidate, submission, today, step.key, across_steps=False)
            if settled is not None:
                raise DecidedAlready(step.key, settled.user)
        settled = _fallback(submission, today, step.key, across_steps=False)
        if settled is not None:
            raise DecidedAlready(step.key, settled.user)
        raise NoApprover(step.key)
    return list(result.values())
