"""Statuses and history actions as words in the reader's language, never their codes.

Codes (`in_review`, `auto_approve`) are what the API, CSV and the database carry; pages,
print copies and workbooks show these words. One list, so a status reads the same on the
claim page, in the inbox, on the PDF and in Excel.
"""

from __future__ import annotations

from flask_babel import force_locale, lazy_pgettext
from flask_babel import lazy_gettext as _l

#: Submission statuses (`SubmissionStatus` values).
STATUS_WORDS = {
    "draft": _l("Draft"),
    "in_review": _l("In review"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "returned": _l("Returned"),
    "withdrawn": _l("Withdrawn"),
}

#: What a history event says happened (`ApprovalEvent.action`), as the verb a history column
#: shows ("同意", not the status "已批准"): hence the "history" context.
ACTION_WORDS = {
    "submit": lazy_pgettext("history", "Submitted"),
    "approve": lazy_pgettext("history", "Approved"),
    "reject": lazy_pgettext("history", "Rejected"),
    "return": lazy_pgettext("history", "Returned"),
    "delegate": lazy_pgettext("history", "Handed on"),
    "transfer": lazy_pgettext("history", "Handed on"),
    "withdraw": lazy_pgettext("history", "Withdrawn"),
    "comment": lazy_pgettext("history", "Remark"),
    "skip": lazy_pgettext("history", "Skipped"),
    "auto_approve": lazy_pgettext("history", "Approved automatically"),
    "auto_reject": lazy_pgettext("history", "Rejected automatically"),
    "remind": lazy_pgettext("history", "Reminded"),
    "escalate": lazy_pgettext("history", "Escalated"),
    "reassign": lazy_pgettext("history", "Reassigned"),
    "edit": lazy_pgettext("history", "Changed by the approver"),
    "add_signer": lazy_pgettext("history", "Signer added"),
    "copy": lazy_pgettext("history", "Copied"),
    "amend": lazy_pgettext("history", "Amended"),
    "supersede": lazy_pgettext("history", "Replaced by its amendment"),
}

#: A step's decision as signed in a signature box.
DECISION_WORDS = {
    "approve": lazy_pgettext("history", "Approved"),
    "reject": lazy_pgettext("history", "Rejected"),
    "return": lazy_pgettext("history", "Returned"),
}


#: A person's status (`UserStatus` values), as the administration pages show it.
USER_STATUS_WORDS = {
    "active": lazy_pgettext("person", "Active"),
    "on_leave": lazy_pgettext("person", "On leave"),
    "left": lazy_pgettext("person", "Left"),
}


def user_status_word(status: object) -> str:
    """`on_leave` → "On leave" / "休假"; an unknown status reads as itself."""
    code = str(getattr(status, "value", status))
    word = USER_STATUS_WORDS.get(code)
    return str(word) if word is not None else code


def status_word(status: object) -> str:
    """`in_review` → "In review" / "审批中"; an unknown status reads as itself."""
    code = str(getattr(status, "value", status))
    word = STATUS_WORDS.get(code)
    return str(word) if word is not None else code


def action_word(action: str) -> str:
    word = ACTION_WORDS.get(action)
    return str(word) if word is not None else action.replace("_", " ")


def in_locale(locale: str, words: dict[str, object], code: str) -> str:
    """A word of one of the lists above in the given language (print copies, workbooks)."""
    word = words.get(code)
    if word is None:
        return code.replace("_", " ")
    with force_locale(locale):
        return str(word)
