"""Words the designer page translates from variables, listed so ``pybabel extract`` finds them.

The page shows palette categories, property names, assignee rules, scopes, modes, timeout
actions, access levels and simulated step outcomes as ``_(value)``; nothing imports this
module at run time.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

WORDS = (
    # Palette categories (widgets.base.PaletteEntry.category).
    _l("basic"),
    _l("number"),
    _l("date"),
    _l("choice"),
    _l("organisation"),
    _l("advanced"),
    _l("layout"),
    # Field properties shown with generic editors.
    _l("content"),
    _l("pattern"),
    _l("pattern_message"),
    _l("currency"),
    _l("min"),
    _l("max"),
    _l("places"),
    _l("thousands"),
    _l("min_length"),
    _l("max_length"),
    _l("rows"),
    _l("min_rows"),
    _l("max_rows"),
    _l("max_days"),
    _l("max_selected"),
    _l("max_size_mb"),
    _l("max_files"),
    _l("multiple"),
    _l("totals"),
    _l("accept"),
    _l("result_type"),
    _l("granularity"),
    # Assignee rules, scopes, modes and timeout actions (designer.approval).
    _l("manager_of_submitter"),
    _l("role"),
    _l("user"),
    _l("user_field"),
    _l("department_head"),
    _l("manager_of_department_field"),
    _l("manager_of_user_field"),
    _l("role_owner"),
    _l("security_approver"),
    _l("organisation"),
    _l("submitter_department"),
    _l("department_field"),
    _l("any"),
    _l("all"),
    _l("n_of_m"),
    _l("remind"),
    _l("escalate"),
    _l("auto_approve"),
    _l("auto_reject"),
    # Access levels and the matrix's pseudo-roles.
    _l("hidden"),
    _l("read"),
    _l("edit"),
    _l("masked"),
    _l("submitter"),
    _l("*"),
    # Simulated step outcomes.
    _l("will_run"),
    _l("skipped"),
    _l("auto_approved"),
)
