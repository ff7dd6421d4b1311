"""The shape of an approval route in a template; the approval engine (elsewhere) runs it.

A route is data: ordered steps, each with who decides (an assignee rule), how many must
agree, when the step applies, what the approver may see and change, and what happens when
nobody decides in time. An item of the route may instead be a parallel group (并行分支):
branches, each a chain of steps with an optional condition, that start together and join
before the next item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, model_validator

from quire.widgets.base import Bilingual, StrictModel

Access = Literal["hidden", "read", "edit", "masked"]


class RoleAssignee(StrictModel):
    """Holders of a role, within a scope: `finance_reviewer` in the organisation, `dept_manager`
    of the submitter's department, or of the department named in a field."""

    kind: Literal["role"]
    role: str = Field(min_length=1, max_length=64)
    """The role key, for example `finance_reviewer`."""
    scope: Literal["organisation", "submitter_department", "department_field"] = "organisation"
    """Where role holders are looked for."""
    field: str | None = None
    """With scope `department_field`: the department picker field naming the department."""

    @model_validator(mode="after")
    def _field_goes_with_its_scope(self) -> RoleAssignee:
        if self.scope == "department_field" and not self.field:
            raise ValueError('scope "department_field" needs "field": the department field')
        if self.scope != "department_field" and self.field:
            raise ValueError('"field" is only used with scope "department_field"')
        return self


class ManagerOfSubmitter(StrictModel):
    """The submitter's line manager."""

    kind: Literal["manager_of_submitter"]


class ManagerOfDepartmentField(StrictModel):
    """The manager of the department chosen in a field (cost-bearing department)."""

    kind: Literal["manager_of_department_field"]
    field: str = Field(min_length=1, max_length=64)
    """The department picker field."""


class DepartmentHead(StrictModel):
    """The head of the submitter's department, or of the department N levels above it."""

    kind: Literal["department_head"]
    levels_up: int = Field(default=0, ge=0, le=10)
    """0: the submitter's own department; 1: its parent; and so on."""


class NamedUser(StrictModel):
    """One named person."""

    kind: Literal["user"]
    username: str = Field(min_length=1, max_length=64)
    """Their username."""


class UserFieldAssignee(StrictModel):
    """The person chosen in a user picker field (a project owner, a named approver)."""

    kind: Literal["user_field"]
    field: str = Field(min_length=1, max_length=64)
    """The user picker field."""


class ManagerOfUserField(StrictModel):
    """The line manager of the person chosen in a user picker field (whom an access request
    is for); the submitter's manager when the field is empty. Skipped, with the reason in
    the history, when that manager is the submitter: a manager's request for their own
    report is the manager's consent."""

    kind: Literal["manager_of_user_field"]
    field: str = Field(min_length=1, max_length=64)
    """The user picker field."""


class RoleOwner(StrictModel):
    """The owners of the role chosen in a role picker field: the holders of the role's
    owner role (finance administrators for the finance roles), or the role managers when
    the role names no owner."""

    kind: Literal["role_owner"]
    field: str = Field(min_length=1, max_length=64)
    """The role picker field."""


class SecurityApprover(StrictModel):
    """The security approver of the role chosen in a role picker field (the holders of its
    `security_approver_role_key`, e.g. the CFO). Skipped, with the reason in the history,
    when the role is not marked high-risk."""

    kind: Literal["security_approver"]
    field: str = Field(min_length=1, max_length=64)
    """The role picker field."""


Assignee = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs the Union spelling inside Annotated
        RoleAssignee,
        ManagerOfSubmitter,
        ManagerOfDepartmentField,
        DepartmentHead,
        NamedUser,
        UserFieldAssignee,
        ManagerOfUserField,
        RoleOwner,
        SecurityApprover,
    ],
    Field(discriminator="kind"),
]


class Due(StrictModel):
    """How long a step may wait: working days (the organisation's calendar) or hours."""

    working_days: int | None = Field(default=None, ge=1, le=365)
    """Working days after the step starts."""
    hours: int | None = Field(default=None, ge=1, le=8760)
    """Clock hours after the step starts."""

    @model_validator(mode="after")
    def _exactly_one_measure(self) -> Due:
        if (self.working_days is None) == (self.hours is None):
            raise ValueError('give either "working_days" or "hours"')
        return self


class StepPermission(StrictModel):
    """What the approvers of this step may do with one field. `edit` lets the step's current
    assignee correct the field while the form waits at this step (web page, `PATCH`, or `data`
    with `approve`); the change is validated, recorded in the history with old and new values
    and re-routes the rest. On the web page the field is an input; **Save changes** keeps the
    correction, and the decision's **Approve** sends it with the approval (and the comment) in
    one step."""

    field: str = Field(min_length=1, max_length=64)
    """The field's key, or `table.column` (`lines.category`) to let the approvers correct
    that column of the existing lines; a column can only be given `edit`."""
    access: Access
    """hidden, read, edit or masked; `edit` only on a field people can change (not computed,
    not read-only)."""


#: A username or a role key, for copies (抄送).
CopyTarget = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]


class ApprovalStep(StrictModel):
    """One decision in the route."""

    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    """The step's name in permissions, history and the API."""
    name: Bilingual
    """What people see in their inbox and the history."""
    assignee: Assignee
    """Who decides."""
    mode: Literal["any", "all", "n_of_m"] = "any"
    """any: the first decision counts; all: every assignee must approve; n_of_m: `required` of
    them must approve."""
    required: int | None = Field(default=None, ge=1, le=100)
    """With mode `n_of_m`: how many approvals are needed."""
    when: str | None = Field(default=None, max_length=4000)
    """A formula; the step is skipped unless it is true (`total >= 100000 OR NOT within_budget`)."""
    permissions: list[StepPermission] = Field(default_factory=list)
    """Field access for this step's approvers, before the template's permissions."""
    due: Due | None = None
    """How long the step may wait."""
    on_timeout: Literal["remind", "escalate", "auto_approve", "auto_reject"] = "remind"
    """What happens when `due` passes: remind the assignees, escalate to their manager, or
    decide automatically."""
    copy_to: list[CopyTarget] = Field(default_factory=list, max_length=50)
    """People (usernames) or roles (role keys) told when the step is reached, who may then
    read the submission without deciding anything (抄送)."""

    @model_validator(mode="after")
    def _required_goes_with_n_of_m(self) -> ApprovalStep:
        if self.mode == "n_of_m" and self.required is None:
            raise ValueError('mode "n_of_m" needs "required": how many must approve')
        if self.mode != "n_of_m" and self.required is not None:
            raise ValueError('"required" is only used with mode "n_of_m"')
        return self


#: Step keys are written like this; a parallel group's key too (one namespace per route).
ROUTE_KEY = r"^[a-z][a-z0-9_]*$"


class Branch(StrictModel):
    """One branch of a parallel group: a chain of steps, run when its condition holds."""

    name: Bilingual | None = None
    """What the route diagram calls the branch ("项目线"); optional."""
    when: str | None = Field(default=None, max_length=4000)
    """A formula; the whole branch is skipped unless it is true (`project != ""`)."""
    steps: list[ApprovalStep] = Field(min_length=1, max_length=20)
    """The branch's steps, in order."""


class ParallelGroup(StrictModel):
    """Steps in parallel (并行分支): every branch whose condition holds starts at once, each
    decides on its own, and the route goes on only when all of them are done. A rejection in
    any branch rejects the submission."""

    kind: Literal["parallel"]
    key: str = Field(min_length=1, max_length=64, pattern=ROUTE_KEY)
    """The group's name in the route, unique among the route's steps and groups."""
    name: Bilingual
    """What the route diagram and the history call the group."""
    branches: list[Branch] = Field(min_length=2, max_length=10)
    """Two or more branches, drawn side by side."""


def _route_item_kind(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "parallel" if kind == "parallel" else "step"


#: One item of the route: a step, or a parallel group of branches.
RouteItem = Annotated[
    Union[  # noqa: UP007 - a tagged union needs the Union spelling inside Annotated
        Annotated[ApprovalStep, Tag("step")],
        Annotated[ParallelGroup, Tag("parallel")],
    ],
    Discriminator(_route_item_kind),
]


@dataclass(frozen=True)
class Place:
    """Where a step stands in the route: its item, and inside a parallel group its branch and
    its position in that branch (None outside a group)."""

    index: int
    """The step's position in route order (every step of every branch, top to bottom)."""
    item: int
    group: ParallelGroup | None = None
    branch: int | None = None
    position: int | None = None

    @property
    def path(self) -> tuple[str | int, ...]:
        """The step's JSON path in the template (`approval.steps[1].branches[0].steps[0]`)."""
        if self.group is None or self.branch is None or self.position is None:
            return ("approval", "steps", self.item)
        return ("approval", "steps", self.item, "branches", self.branch, "steps", self.position)

    def same_branch(self, other: Place) -> bool:
        return self.group is not None and (self.item, self.branch) == (other.item, other.branch)


class Approval(StrictModel):
    """The route a submitted form takes."""

    auto_approve_when: str | None = Field(default=None, max_length=4000)
    """A formula; when true at submission the form is approved without any step
    (`total < 10000 AND within_budget`)."""
    steps: list[RouteItem] = Field(default_factory=list, max_length=50)
    """The route, in order: steps, and parallel groups of branches."""
    copy_to: list[CopyTarget] = Field(default_factory=list, max_length=50)
    """People (usernames) or roles (role keys) told when the form is submitted, who may then
    read it without deciding anything (抄送)."""

    def all_steps(self) -> list[ApprovalStep]:
        """Every step in route order, the steps of a group branch by branch."""
        return [step for step, _place in self.places()]

    def places(self) -> Iterator[tuple[ApprovalStep, Place]]:
        """Every step with where it stands."""
        index = 0
        for item_index, item in enumerate(self.steps):
            if isinstance(item, ParallelGroup):
                for b, branch in enumerate(item.branches):
                    for position, step in enumerate(branch.steps):
                        yield step, Place(index, item_index, item, b, position)
                        index += 1
            else:
                yield item, Place(index, item_index)
                index += 1

    def place_of(self, key: str | None) -> tuple[ApprovalStep, Place] | None:
        return next(((s, p) for s, p in self.places() if s.key == key), None)

    def groups(self) -> list[ParallelGroup]:
        return [item for item in self.steps if isinstance(item, ParallelGroup)]
