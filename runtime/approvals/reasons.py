"""What a history event's remark says, as a sentence in the reader's language.

The engine records what it did with the facts behind it (`details`: the condition, the
figures it routed with, who was replaced by whom); an approver's remark is their own text.
Here the engine's part is told in words built from the rule's parts ("报销总额低于 100,000，
且在预算内") with :mod:`quire.designer.sentences`, never the formula or an English note,
for the claim page, the history API's readers and the print copy alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from quire.designer.model import Template
from quire.designer.sentences import describe, explain

from ..extensions import db
from ..models import ApprovalEvent, Submission, User, utcnow

_CONDITION_FAILED = re.compile(r"^condition .* failed \(.*\); the step applies$", re.S)


class Reasons:
    """Tells the engine's events of one submission; the template document is built once."""

    def __init__(
        self, template: Template, context: Mapping[str, Any], locale: str, today: date
    ) -> None:
        self.template = template
        self.document = template.model_dump(mode="json", by_alias=True)
        #: The formula context the route was decided with (values and facts at submission).
        self.context = dict(context)
        self.locale = locale
        self.today = today

    @property
    def zh(self) -> bool:
        return self.locale.lower().startswith("zh")

    def comment(self, event: ApprovalEvent) -> str | None:
        """The remark to show beside the event: a sentence for the engine's own events, the
        person's text for theirs."""
        with force_locale(self.locale):
            return self._comment(event)

    def _comment(self, event: ApprovalEvent) -> str | None:
        details = event.details if isinstance(event.details, dict) else {}
        if event.actor_id is not None and event.action != "edit":
            return event.comment
        if details.get("zh") or details.get("en"):
            return str(details.get("zh" if self.zh else "en") or details.get("en") or "")
        if event.action == "skip" and details.get("when"):
            return self._condition(str(details["when"]), details, holds=False)
        if event.action == "auto_approve" and details.get("rule"):
            return self._condition(str(details["rule"]), details, holds=True)
        if event.action == "auto_approve" and event.comment == "the form has no approval route":
            return _("This form has no approval route.")
        if details.get("on_timeout") or event.comment == "due time passed":
            return _("Not decided by the due time.")
        if event.action == "remind":
            name = event.on_behalf_of.display_name if event.on_behalf_of else ""
            return _("%(name)s was reminded: the task is overdue.", name=name)
        if event.action == "escalate":
            name = event.on_behalf_of.display_name if event.on_behalf_of else ""
            return _(
                "%(name)s did not decide in time; the task went to %(to)s.",
                name=name,
                to=self._display_name(details.get("to")),
            )
        if event.comment and _CONDITION_FAILED.match(event.comment):
            return _("The step's condition could not be checked, so the step applies.")
        return event.comment

    @staticmethod
    def _display_name(username: Any) -> str:
        if not username:
            return ""
        user = db.session.scalar(select(User).where(User.username == str(username)))
        return user.display_name if user is not None else str(username)

    def _condition(self, formula: str, details: Mapping[str, Any], *, holds: bool) -> str:
        """Why a condition came out as it did, from the figures recorded with the event."""
        context = dict(self.context)
        for key in ("total", "budget_remaining"):
            if details.get(key) not in (None, ""):
                try:
                    context[key] = Decimal(str(details[key]))
                except InvalidOperation:
                    pass
        if details.get("within_budget") is not None:
            context["within_budget"] = bool(details["within_budget"])
            context["over_budget"] = not context["within_budget"]
        outcome, sentence = explain(formula, self.document, context, self.locale, today=self.today)
        if outcome is None or outcome != holds:
            # The facts now differ from those recorded: say what the rule is, not a wrong why.
            rule = describe(formula, self.document, self.locale)
            return (
                _("The condition “%(rule)s” was met.", rule=rule)
                if holds
                else _("The condition “%(rule)s” was not met.", rule=rule)
            )
        return sentence


def for_submission(submission: Submission, template: Template, locale: str) -> Reasons:
    """Reasons told with the facts the submission's current round was routed with."""
    from . import engine

    facts = engine.facts_at_submission(submission, template)
    return Reasons(template, facts.context, locale, engine.local_day(utcnow()))
