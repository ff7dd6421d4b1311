"""Saved phrases (常用语): an approver's own comments, offered as they type a decision.

Chinese approval tools let an approver pick "同意，情况属实" instead of typing it for the
hundredth time. A phrase is the approver's own: kept per person, at most
:data:`MAX_PHRASES`, offered in the comment box of every decision (a ``datalist``, so any
browser and the keyboard can use it, with no script), saved from a decision with one tick
or on the profile page, and deleted there.
"""

from __future__ import annotations

from sqlalchemy import func, select

from .. import access
from ..errors import Conflict, Detail, Invalid, NotFound
from ..extensions import db
from ..models import SavedPhrase, User

#: How many phrases one person keeps.
MAX_PHRASES = 30
#: The longest phrase.
MAX_LENGTH = 500
#: Offered to someone who has saved none yet.
STARTERS = {
    "zh_CN": ("同意。", "情况属实，同意。", "请补充发票或说明后再提交。", "超出预算，请调整金额。"),
    "en": (
        "Approved.",
        "Checked and approved.",
        "Please add the invoice or an explanation and submit again.",
        "Over budget: please adjust the amount.",
    ),
}


def phrases_of(user: User) -> list[SavedPhrase]:
    """The user's saved phrases, oldest first."""
    return list(
        db.session.scalars(
            select(SavedPhrase).where(SavedPhrase.user_id == user.id).order_by(SavedPhrase.id)
        )
    )


def offered(user: User, locale: str) -> list[str]:
    """What the comment box suggests: the user's phrases, or a few starters."""
    own = [p.text for p in phrases_of(user)]
    return own or list(STARTERS["en" if locale.startswith("en") else "zh_CN"])


def save(user: User, text: str | None) -> SavedPhrase | None:
    """Keep ``text`` as one of the user's phrases; an existing one is left as it is."""
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise Invalid("Please type the phrase.", [Detail("text", "must not be empty")])
    if len(cleaned) > MAX_LENGTH:
        raise Invalid(
            "The phrase is too long.", [Detail("text", f"at most {MAX_LENGTH} characters")]
        )
    existing = db.session.scalar(
        select(SavedPhrase).where(SavedPhrase.user_id == user.id, SavedPhrase.text == cleaned)
    )
    if existing is not None:
        return existing
    count = db.session.scalar(
        select(func.count(SavedPhrase.id)).where(SavedPhrase.user_id == user.id)
    )
    if (count or 0) >= MAX_PHRASES:
        raise Conflict(
            "You have as many saved phrases as can be kept; delete one first.",
            [Detail("text", f"at most {MAX_PHRASES} phrases")],
        )
    phrase = SavedPhrase(user_id=user.id, text=cleaned)
    db.session.add(phrase)
    db.session.flush()
    return phrase


def delete(user: User, phrase_id: int) -> None:
    """Delete one of the user's phrases; someone else's is not found."""
    phrase = db.session.get(SavedPhrase, phrase_id)
    if phrase is None or not access.owns_phrase(user, phrase):
        raise NotFound("No such phrase.")
    db.session.delete(phrase)
