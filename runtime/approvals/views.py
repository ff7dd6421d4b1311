"""Web pages of the approval engine: the inbox, actions from forms, the budget hint.

Views are thin: parse, call the engine with the signed-in user, commit, redirect. Errors
from the engine come back as a flashed message on the page the person came from.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access
from ..errors import NotFound, QuireError
from ..extensions import db
from ..forms import service as forms_service
from ..forms import templates as template_service
from ..local_path import local_path
from ..models import Department, Submission
from ..numbers import parse_id, parse_int
from ..pagination import paginate, parse_page_args
from . import budget, engine, notify, phrases, timeline, whereabouts

bp = Blueprint("approvals", __name__)

_LINE_KEY = re.compile(r"^(?:data\W+)?lines\W+(\d+)\W+(category|account|amount)\W*$")


@bp.record_once
def _install(_state: Any) -> None:
    notify.install()


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _today():  # type: ignore[no-untyped-def]
    return engine.local_day(engine.utcnow())


@bp.app_context_processor
def _approval_context() -> dict[str, Any]:
    def inbox_count() -> int:
        if not current_user.is_authenticated:
            return 0
        return engine.inbox_count(current_user, _today())

    def approval_panel(submission: Submission, loaded: Any = None) -> timeline.Panel:
        template = loaded.template if loaded is not None else engine.template_of(submission)
        field_access = loaded.access if loaded is not None else None
        return timeline.build(current_user, submission, template, _locale(), field_access)

    def my_tasks(limit: int = 5) -> list[Any]:
        if not current_user.is_authenticated:
            return []
        return list(
            db.session.scalars(engine.inbox_query(current_user, _today(), "since").limit(limit))
        )

    def budget_applies(form_key: str) -> bool:
        try:
            _version, template = template_service.published(form_key)
        except QuireError:
            return False
        return form_key != budget.BUDGET_FORM and bool(budget.amount_columns(template))

    def task_gone(submission: Submission) -> whereabouts.TaskGone | None:
        """Where the task the page was opened for (``?task=``, from a notification) went,
        when it is no longer the reader's."""
        task_id = parse_id(request.args.get("task"))
        if task_id is None or not current_user.is_authenticated:
            return None
        return whereabouts.task_gone(current_user, submission, task_id, _today())

    def my_phrases() -> list[str]:
        if not current_user.is_authenticated:
            return []
        return phrases.offered(current_user, _locale())

    return {
        "my_phrases": my_phrases,
        "task_gone": task_gone,
        "budget_applies": budget_applies,
        "now_utc": engine.utcnow(),
        "inbox_count": inbox_count,
        "approval_panel": approval_panel,
        "my_approval_tasks": my_tasks,
        "submission_path": notify.submission_path,
        "step_label": lambda submission, key: engine.step_name(
            engine.template_of(submission), key, _locale()
        ),
    }


def _back(submission_id: int | None = None) -> Any:
    target = local_path(request.form.get("next"))
    if target is not None:
        return redirect(target, code=303)
    if submission_id is not None:
        return redirect(notify.submission_path(submission_id), code=303)
    return redirect(url_for("approvals.inbox"), code=303)


def _flash_error(exc: QuireError, submission_id: int | None = None) -> None:
    """The refusal in the reader's language, each problem named as the form names its place
    ("第 1 行 · 日期"), not by its JSON path."""
    where = _place_words(submission_id)
    flash(
        " ".join([_(exc.message), *(f"{where(d.path)}: {_(d.message)}" for d in exc.details)]),
        "error",
    )


def _place_words(submission_id: int | None) -> Any:
    """``lines[0].date`` → "第 1 行 · 日期" for the fields of this submission's form."""
    from ..forms.presenter import FormPage

    if submission_id is None:
        return lambda path: path
    try:
        loaded = forms_service.load(current_user, submission_id)
    except QuireError:
        return lambda path: path
    return FormPage(loaded.template, loaded.submission.data, loaded.access, _locale()).path_label


@bp.get("/inbox")
@login_required
def inbox():  # type: ignore[no-untyped-def]
    sort = request.args.get("sort", "since")
    if sort not in engine.INBOX_SORTS:
        sort = "since"
    page, per_page = parse_page_args(request.args, default_per_page=25)
    result = paginate(engine.inbox_query(current_user, _today(), sort), page, per_page)
    return render_template(
        "approvals/inbox.html",
        page=result,
        sort=sort,
        locale=_locale(),
        notifications=notify.notifications_for(current_user, 10, today=_today()),
        unread=notify.unread_count(current_user, today=_today()),
    )


@bp.post("/notifications/read")
@login_required
def notifications_read():  # type: ignore[no-untyped-def]
    """Mark my notifications read (all of them, or the ``id`` values sent)."""
    ids = [i for i in map(parse_id, request.form.getlist("id")) if i is not None]
    notify.mark_read(current_user, ids or None)
    db.session.commit()
    return redirect(url_for("approvals.inbox"), code=303)


@bp.post("/forms/<key>/submit")
@login_required
def submit_new(key: str):  # type: ignore[no-untyped-def]
    """A new form submitted in one step: saved as a draft (kept even when the submission is
    refused, so nothing typed is lost), then sent into review. A page that autosaved already
    names its draft (``_submission``), which is submitted instead."""
    from ..forms.presenter import form_post_to_data

    existing = parse_id(request.form.get("_submission"))
    if existing is not None:
        return submit(existing)
    _version, template = template_service.published(key)
    data = form_post_to_data(template, request.form, request.form.getlist)
    try:
        draft = forms_service.create(current_user, key, data)
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        _flash_error(exc)
        return redirect(url_for("forms.new", key=key), code=303)
    return _submit(draft.id, str(draft.version), save_posted=False)


@bp.post("/submissions/<int:submission_id>/submit")
@login_required
def submit(submission_id: int):  # type: ignore[no-untyped-def]
    version = request.form.get("version") or request.form.get("_version")
    return _submit(submission_id, version, save_posted=True)


def _submit(submission_id: int, version: str | None, *, save_posted: bool) -> Any:
    try:
        if save_posted:
            version = _save_posted_edits(submission_id, version)
        submission = engine.submit(current_user, submission_id, version, locale=_locale())
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        _flash_error(exc, submission_id)
        if "forms.edit" in current_app.view_functions and exc.status == 422:
            return redirect(url_for("forms.edit", submission_id=submission_id), code=303)
        return _back(submission_id)
    if submission.status.value == "approved":
        flash(_("Submitted and approved automatically."), "ok")
    else:
        flash(_("Submitted for approval."), "ok")
    return _back(submission_id)


_NOT_FIELDS = {"csrf_token", "version", "_version", "_submission", "_action", "next"}


def _save_posted_edits(submission_id: int, version: str | None) -> str | None:
    """The edit page's "Submit" button posts the whole form: save what was typed first."""
    if not any(key not in _NOT_FIELDS for key in request.form):
        return version
    from ..forms.presenter import form_post_to_data

    loaded = forms_service.load(current_user, submission_id)
    if not access.may_edit_submission(current_user, loaded.submission):
        return version
    data = form_post_to_data(loaded.template, request.form, request.form.getlist)
    submission = forms_service.update(current_user, submission_id, data, version)
    db.session.flush()
    return str(submission.version)


#: Names an approval form posts besides the fields of the submission.
_ACTION_FIELDS = _NOT_FIELDS | {
    "action",
    "comment",
    "to",
    "again",
    "position",
    "mode",
    "save_phrase",
}


def _posted_step_edits(submission_id: int) -> dict[str, Any] | None:
    """The values an approver's page posted (the fields their step lets them edit), or None
    when the post carries no field at all (a plain decision)."""
    if not any(key not in _ACTION_FIELDS for key in request.form):
        return None
    from ..forms.presenter import FormPage, form_post_to_data

    loaded = forms_service.load(current_user, submission_id)
    page = FormPage(loaded.template, loaded.submission.data, loaded.access, _locale())
    return form_post_to_data(
        loaded.template, request.form, request.form.getlist, only=page.editable_fields()
    )


@bp.post("/submissions/<int:submission_id>/edit-at-step")
@login_required
def edit_at_step(submission_id: int):  # type: ignore[no-untyped-def]
    """The current step's approver saves what their step lets them correct."""

    def save() -> None:
        data = _posted_step_edits(submission_id) or {}
        engine.edit_at_step(current_user, submission_id, data, version=request.form.get("version"))

    return _commit_and_return(submission_id, save, _("Changes saved."))


def _commit_and_return(submission_id: int, change: Any, done: str) -> Any:
    """Run an engine call from a page, commit, and go back with a message (or the error)."""
    try:
        change()
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        _flash_error(exc, submission_id)
        return _back(submission_id)
    flash(done, "ok")
    return _back(submission_id)


ACTION_DONE = {
    "approve": "Approved.",
    "reject": "Rejected.",
    "return": "Returned.",
    "delegate": "Handed on.",
    "transfer": "Handed on.",
    "withdraw": "Withdrawn.",
    "comment": "Comment added.",
    "add_signer": "Signers added.",
    "copy": "Copied.",
}


def _posted_names() -> list[str] | str | None:
    """People or roles named in a form: several ``to`` inputs, or one comma-separated."""
    names = [n for n in request.form.getlist("to") if n.strip()]
    return names if len(names) > 1 else (names[0] if names else None)


@bp.get("/submissions/<int:submission_id>/hand-on-people")
@login_required
def hand_on_people(submission_id: int):  # type: ignore[no-untyped-def]
    """The hand-on picker's suggestions as the approver types: people who may take the task."""
    loaded = forms_service.load(current_user, submission_id)
    people = engine.people_to_hand_on(
        current_user, loaded.submission, request.args.get("to", ""), _today()
    )
    return render_template("approvals/_hand_on_people.html", people=people)


@bp.post("/submissions/<int:submission_id>/act")
@login_required
def act(submission_id: int):  # type: ignore[no-untyped-def]
    action = request.form.get("action", "")
    if action == "amend":
        return _amend(submission_id)

    def decide() -> None:
        data = _posted_step_edits(submission_id) if action == "approve" else None
        engine.act(
            current_user,
            submission_id,
            action,
            version=request.form.get("version"),
            comment=request.form.get("comment"),
            to=_posted_names()
            if action in ("add_signer", "copy")
            else request.form.get("to") or None,
            data=data,
            position=request.form.get("position") or None,
            mode=request.form.get("mode") or None,
            again=request.form.get("again", "1") != "0",
        )
        comment = (request.form.get("comment") or "").strip()
        if request.form.get("save_phrase") and comment:
            try:
                with db.session.begin_nested():
                    phrases.save(current_user, comment)
            except QuireError as exc:  # the decision stands; only the phrase is not kept
                flash(_("The comment was not saved as a phrase: %(why)s", why=_(exc.message)))

    return _commit_and_return(submission_id, decide, _(ACTION_DONE.get(action, "Done.")))


def _amend(submission_id: int) -> Any:
    """The submitter confirmed "Amend" (变更): the revision opens as a draft to change."""
    try:
        revision = engine.act(
            current_user,
            submission_id,
            "amend",
            version=request.form.get("version"),
            comment=request.form.get("comment"),
        )
        db.session.commit()
    except QuireError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        _flash_error(exc, submission_id)
        return _back(submission_id)
    flash(
        _(
            "Revision %(number)s opened as a draft: change it and submit it for approval.",
            number=revision.number,
        ),
        "ok",
    )
    if "forms.edit" in current_app.view_functions:
        return redirect(url_for("forms.edit", submission_id=revision.id), code=303)
    return redirect(notify.submission_path(revision.id), code=303)


@bp.route("/phrases", methods=["GET", "POST"])
@login_required
def phrases_page():  # type: ignore[no-untyped-def]
    """The approver's saved phrases (常用语): add and delete."""
    status = 200
    if request.method == "POST":
        try:
            if request.form.get("action") == "delete":
                phrase_id = parse_id(request.form.get("phrase"))
                if phrase_id is None:
                    raise NotFound("No such phrase.")
                phrases.delete(current_user, phrase_id)
                message = _("Phrase deleted.")
            else:
                phrases.save(current_user, request.form.get("text"))
                message = _("Phrase saved.")
        except QuireError as exc:
            db.session.rollback()
            flash(_(exc.message), "error")
            status = exc.status
        else:
            db.session.commit()
            flash(message, "ok")
            return redirect(url_for("approvals.phrases_page"), code=303)
    return (
        render_template(
            "approvals/phrases.html",
            saved=phrases.phrases_of(current_user),
            limit=phrases.MAX_PHRASES,
        ),
        status,
    )


@bp.post("/inbox/bulk-approve")
@login_required
def bulk_approve():  # type: ignore[no-untyped-def]
    items: list[tuple[int, str]] = []
    for value in request.form.getlist("item"):
        task_id, _sep, version = value.partition(":")
        task = parse_id(task_id)
        if task is not None and parse_int(version) is not None:
            items.append((task, version))
    if not items:
        flash(_("Select the items to approve."), "error")
        return redirect(url_for("approvals.inbox"), code=303)
    result = engine.bulk_approve(current_user, items)
    if result.approved:
        flash(_("Approved: %(items)s", items=", ".join(result.approved)), "ok")
    for label, reason in result.skipped:
        flash(_("Not approved: %(item)s (%(reason)s)", item=label, reason=reason), "error")
    return redirect(url_for("approvals.inbox"), code=303)


def _lines_from_args(args: Any) -> list[tuple[int, str, Decimal]]:
    """(row, account, amount) of each line the form sends (``lines-0-category`` and
    ``lines-0-amount``, or any ``lines[0][amount]`` spelling); the row is -1 for repeated
    ``category``/``amount`` pairs. Lines without an account or a positive amount are left out."""
    rows: dict[int, dict[str, str]] = {}
    for key in args:
        match = _LINE_KEY.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = args.get(key, "")
    pairs = [
        (i, r.get("category") or r.get("account"), r.get("amount")) for i, r in sorted(rows.items())
    ]
    pairs += [
        (-1, account, amount)
        for account, amount in zip(args.getlist("category"), args.getlist("amount"), strict=False)
    ]
    lines = []
    for row, account, amount in pairs:
        if not account:
            continue
        try:
            value = Decimal(str(amount).replace(",", "").strip() or "0")
        except InvalidOperation:
            continue
        if value.is_finite() and value > 0:
            lines.append((row, str(account), value.quantize(budget.CENT)))
    return lines


def _claim_from_args(args: Any) -> dict[str, Decimal]:
    """Amount per account of the lines the form sends."""
    claim: dict[str, Decimal] = {}
    for _row, account, amount in _lines_from_args(args):
        claim[account] = claim.get(account, budget.ZERO) + amount
    return claim


def _account_labels(form_key: str | None) -> dict[str, str]:
    """Account names people read (培训费, not ``training``), from the claim's own template and
    the budget form's account list."""
    labels: dict[str, str] = {}
    for key in (budget.BUDGET_FORM, form_key):
        if not key:
            continue
        try:
            _version, template = template_service.published(key)
        except QuireError:
            continue
        labels.update(budget.account_labels(template, _locale()))
    return labels


@bp.route("/budget/remaining", methods=["GET", "POST"])
@login_required
def budget_remaining():  # type: ignore[no-untyped-def]
    """The htmx budget hint beside a claim's lines: remaining per account, 90 % / 100 % warnings,
    and a note at each line (its account's remaining budget, and the warning) drawn out of band
    into the line's cell. The claim form posts what is typed (POST keeps the bank account out of
    URLs and logs); GET with query arguments answers the same."""
    args = request.form if request.method == "POST" else request.args
    code = args.get("department") or args.get("data-department") or current_user.department.code
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None or not access.may_see_budget(current_user, department):
        abort(404)
    year = parse_int(args.get("year"), minimum=1901, maximum=2999) or _today().year
    exclude = parse_id(request.args.get("submission") or args.get("_submission"))
    exclude_id = None
    if exclude is not None:
        try:
            exclude_id = forms_service.load(current_user, exclude).submission.id
        except QuireError:
            exclude_id = None
    lines = _lines_from_args(args)
    claim = _claim_from_args(args)
    check = budget.check(department, year, claim, exclude_id=exclude_id)
    by_account = {a.account: a for a in check.accounts}
    labels = _account_labels(request.args.get("form"))
    line_notes = [(row, by_account[account]) for row, account, _amount in lines if row >= 0]
    noted = {row for row, _a in line_notes}
    # Rows without a claimable line lose a note they had a moment ago.
    cleared = sorted({int(m.group(1)) for key in args if (m := _LINE_KEY.match(key))} - noted)
    return render_template(
        "approvals/_budget_hint.html",
        check=check,
        department=department,
        account_label=lambda account: labels.get(account) or _(account),
        line_notes=line_notes,
        cleared_rows=cleared,
        table_key="lines",
    )
