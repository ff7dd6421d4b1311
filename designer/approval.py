"""The shape of an approval route in a template; the approval engine (elsewhere) runs it.

A route is data: ordered steps, each with who decides (an assignee rule), how many must
agree, when the step applies, what the approver may see and change, and what happens when
nobody decides in time.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

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
    with `approve`); the change is validated, recorded in the history and re-routes the rest."""

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


class Approval(StrictModel):
    """The route a submitted form takes."""

    auto_approve_when: str | None = Field(default=None, max_length=4000)
    """A formula; when true at submission the form is approved without any step
    (`total < 10000 AND within_budget`)."""
    steps: list[ApprovalStep] = Field(default_factory=list, max_length=50)
    """The steps, in order."""
    copy_to: list[CopyTarget] = Field(default_factory=list, max_length=50)
    """People (usernames) or roles (role keys) told when the form is submitted, who may then
    read it without deciding anything (抄送)."""
