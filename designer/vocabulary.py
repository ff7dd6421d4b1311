"""The names a template may use that are not its own: Quire's roles and what the engine provides.

Declared once so validation, the designer's pickers and the docs agree.
"""

from __future__ import annotations

#: Role keys granted to users in Quire.
ROLES = frozenset(
    {
        "sysadmin",
        "finance_admin",
        "finance_reviewer",
        "cfo",
        "dept_manager",
        "staff",
        "hr_officer",
        "auditor",
    }
)

#: Roles that depend on the submission: its claimant, and whoever holds the current step.
PSEUDO_ROLES = frozenset({"submitter", "approver"})

#: In a permission's `roles`, everyone who can see the submission at all.
EVERYONE = "*"

#: Names the approval engine and form runtime supply to formulas (rules, defaults, `when`,
#: `auto_approve_when`) besides the template's own fields. `submitter` and `department` also
#: take an attribute: `submitter.department`, `submitter.username`, `department.code`.
ENGINE_NAMES = frozenset(
    {"within_budget", "over_budget", "budget_remaining", "submitter", "department"}
)

#: Connectors Quire ships; plugins may add more, so this is advice for the designer, not a check.
BUILTIN_CONNECTORS = frozenset({"sql", "file", "rest", "submissions"})
