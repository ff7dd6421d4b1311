"""Saved phrases (常用语): an approver keeps their own comments and picks them while deciding."""

from __future__ import annotations

from sqlalchemy import select


def _phrases(username):  # type: ignore[no-untyped-def]
    from quire.runtime.extensions import db
    from quire.runtime.models import SavedPhrase, User

    owner = select(User.id).where(User.username == username).scalar_subquery()
    return list(db.session.scalars(select(SavedPhrase.text).where(SavedPhrase.user_id == owner)))


def test_a_comment_ticked_on_a_decision_is_offered_on_the_next(claim, submit, signed_in):
    salesmgr = signed_in("salesmgr")
    first, second = submit(claim("sales1", 25000)), submit(claim("sales2", 26000))
    page = salesmgr.get(f"/submissions/{first.id}").text
    # Before any is saved, a few common ones are offered.
    assert 'list="phrases-' in page and "情况属实，同意。" in page
    response = salesmgr.post_form(
        f"/submissions/{first.id}/act",
        {
            "action": "approve",
            "version": str(first.version),
            "comment": "  差旅标准内，同意。 ",
            "save_phrase": "1",
        },
        page=f"/submissions/{first.id}",
    )
    assert response.status_code == 303
    assert _phrases("salesmgr") == ["差旅标准内，同意。"]
    assert '<option value="差旅标准内，同意。">' in salesmgr.get(f"/submissions/{second.id}").text
    # Only their own: another approver is not offered it.
    assert _phrases("finrev") == []


def test_phrases_are_added_and_deleted_by_their_owner_only(signed_in):
    from quire.runtime.extensions import db
    from quire.runtime.models import SavedPhrase

    finrev = signed_in("finrev")
    assert (
        finrev.post_form("/phrases", {"action": "add", "text": "发票齐全，同意。"}).status_code
        == 303
    )
    # Saving the same phrase again keeps one.
    finrev.post_form("/phrases", {"action": "add", "text": "发票齐全，同意。"})
    assert _phrases("finrev") == ["发票齐全，同意。"]
    phrase = db.session.scalar(select(SavedPhrase))
    # Someone else cannot delete it, and learns nothing about it.
    other = signed_in("salesmgr").post_form(
        "/phrases", {"action": "delete", "phrase": str(phrase.id)}
    )
    assert other.status_code == 404
    assert _phrases("finrev") == ["发票齐全，同意。"]
    assert (
        finrev.post_form("/phrases", {"action": "delete", "phrase": str(phrase.id)}).status_code
        == 303
    )
    assert _phrases("finrev") == []
    empty = finrev.post_form("/phrases", {"action": "add", "text": "   "})
    assert empty.status_code == 422 and "请输入常用语" in empty.text
