"""Issue 20: the words a finance clerk expects. An approver's remark is 审批意见 (not 评论), the
inbox is 待办事项, and the English UI shows statuses as words, never `in_review` or `draft`."""

from __future__ import annotations

from tests.runtime.test_no_raw_codes_in_chinese import visible


def test_the_approver_writes_an_approval_remark_in_the_to_do_list(claim, submit, signed_in):
    c = submit(claim("sales1", 25000))
    manager = signed_in("salesmgr")
    for url in (f"/submissions/{c.id}", "/inbox"):
        text = visible(manager.get(url).text)
        assert "审批意见" in text, url
        assert "评论" not in text, url
        assert "待办事项" in text and "待办箱" not in text, url


def test_the_english_ui_shows_statuses_as_words(claim, submit, signed_in, user):
    from quire.runtime.extensions import db

    draft = claim("sales1", 300)
    sent = submit(claim("sales1", 25000))
    user("sales1").locale = "en"
    db.session.commit()
    sales1 = signed_in("sales1")
    for url in ("/submissions", f"/submissions/{sent.id}", f"/submissions/{draft.id}", "/"):
        text = visible(sales1.get(url).text)
        words = set(text.replace("·", " ").replace(",", " ").split())
        assert "in_review" not in text and "draft" not in words, url
    assert "In review" in visible(sales1.get(f"/submissions/{sent.id}").text)


def test_a_persons_status_reads_as_words_in_both_languages(signed_in, user):
    from quire.runtime.extensions import db

    admin = signed_in("admin")
    chinese = visible(admin.get("/admin/users").text)
    assert "正常" in chinese and "on_leave" not in chinese
    user("admin").locale = "en"
    db.session.commit()
    english = visible(admin.get("/admin/users").text)
    assert "On leave" in english and "Active" in english and "on_leave" not in english
