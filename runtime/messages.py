"""Messages that reach the UI through variables, listed here so ``pybabel extract`` sees them.

Templates translate some strings that are not literals: user status values
(``_(u.status.value)``) and domain error messages (``_(message)`` in
``errors/error.html``, ``_(detail.message)`` in the views). Services raise those
messages as plain English strings, so the extractor never finds them. Listing
the exact same English text here puts it in the catalogue; nothing imports this
module at run time.

Messages with variable parts (``f"{code} is already used"``) cannot be matched
by msgid and are deliberately left out.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

MESSAGES = (
    # Saved phrases (approvals.phrases).
    _l("Please type the phrase."),
    _l("The phrase is too long."),
    _l("You have as many saved phrases as can be kept; delete one first."),
    _l("No such phrase."),
    # Approval engine refusals (approvals.actions), shown through the catalogue.
    _l("The form is not complete yet."),
    _l("Only a draft or a returned form can be submitted."),
    _l("This form is no longer in review; there is nothing to decide."),
    _l("You cannot decide on this form."),
    _l("You cannot decide on a form you submitted."),
    _l("You cannot decide on a request that gives you these rights."),
    _l("You cannot decide on a form you filled in or changed."),
    _l("You decided another step; someone else decides this one."),
    _l("Only a form in review or returned to you can be withdrawn."),
    _l("Only a form in review or approved can be returned."),
    # User status values (models.org.UserStatus), shown as _(status.value).
    _l("active"),
    _l("on_leave"),
    _l("left"),
    # Submission status values (models.forms.SubmissionStatus), shown as _(status.value).
    _l("draft"),
    _l("in_review"),
    _l("approved"),
    _l("rejected"),
    _l("returned"),
    _l("withdrawn"),
    # Approval task status values (models.approvals.TaskStatus) not listed above. "open" is
    # left out: that msgid already means an open-ended validity period ("长期").
    _l("delegated"),
    _l("cancelled"),
    # Approval event actions (models.approvals.ApprovalEvent.action), shown as _(e.action).
    _l("submit"),
    _l("approve"),
    _l("reject"),
    _l("return"),
    _l("delegate"),
    _l("transfer"),
    _l("withdraw"),
    _l("comment"),
    _l("skip"),
    _l("auto_approve"),
    _l("auto_reject"),
    _l("remind"),
    _l("escalate"),
    _l("reassign"),
    _l("add_signer"),
    _l("copy"),
    _l("amend"),
    _l("supersede"),
    # Amendments (approvals.amend).
    _l("Only the submitter can amend this form."),
    _l("A budget is changed by a budget adjustment, from its department's budget page."),
    # Add signers and copies (approvals.participants).
    _l("Please say why."),
    _l("Please say whom."),
    _l("Please say where the signers come."),
    _l("Please choose someone else."),
    _l("Signers added to a step decide; only the step's own approver adds more."),
    _l("Only the submitter or a current approver can copy this submission."),
    _l("Everyone named can already read this submission."),
    # What the approval views flash after an action (approvals.views.ACTION_DONE).
    _l("Approved."),
    _l("Rejected."),
    _l("Returned."),
    _l("Handed on."),
    _l("Withdrawn."),
    _l("Comment added."),
    _l("Signers added."),
    _l("Copied."),
    _l("Done."),
    # Template kinds (models.forms.FormTemplate.kind), shown as _(t.kind).
    _l("form"),
    _l("report"),
    # Report subscription frequencies, shown as _(s.frequency).
    _l("monthly"),
    _l("weekly"),
    _l("daily"),
    # Budget accounts (expense categories), shown as _(a.account) in the budget hint.
    _l("travel"),
    _l("meals"),
    _l("office"),
    _l("training"),
    _l("other"),
    # Default messages of the domain errors (errors.py).
    _l("The request could not be completed."),
    _l("Please sign in."),
    _l("You are not allowed to do this."),
    _l("Not found."),
    # A report step that fails on real data (reports.transforms).
    _l("The report could not run one of its steps."),
    # What each report step setting means, shown in the report designer (designer/report.py).
    _l("A formula over the row's columns and the report's parameters."),
    _l("The column set (new, or replaced)."),
    _l("The kind of the new column; unset: what the formula gives."),
    _l("Old column name → new name."),
    _l("The four quarter columns, Q1 first."),
    _l("The column each month's amount goes into."),
    _l("Grouping columns; `=dimension` takes a parameter's value; empty: one row in all."),
    _l("New column → aggregate of a column of the group."),
    _l("Columns to order by, the first first."),
    _l("Largest (or latest, or Z) first."),
    _l("How many rows to keep."),
    _l("The numeric column that ranks the rows."),
    _l("Keep the largest; false keeps the smallest."),
    _l("Key of a dataset listed before this one."),
    _l("Columns both have, matched by equal values."),
    _l("left: keep every row; inner: only rows with a match."),
    _l("The budget column."),
    _l("The actual-spending column."),
    _l("The column the variance goes into."),
    _l("The column the execution rate (a fraction) goes into."),
    _l("Columns down the side (`department`; `=dimension` allowed)."),
    _l("The column whose values go across (`month`)."),
    _l("The column added up in each cell (`amount`)."),
    _l("How a cell's values are combined."),
    _l("The row-total column's key; null for none."),
    _l("The row-total column's heading."),
    _l("How the cells are shown."),
    _l("Amber and red cells (every value column and the total)."),
    _l("`department_tree`: a subtotal row for each department over its whole subtree."),
    _l("Columns kept (the first by value); a cross-tab wider than that is refused."),
    # Messages of the HTTP error handlers (api/errors.py).
    _l("The form expired or was not sent from Quire. Please reload and try again."),
    _l("This method is not allowed here."),
    _l("The upload is too large."),
    _l("Request failed."),
    _l("Something went wrong on our side; it has been logged."),
    # Messages raised by services and views.
    _l("Nobody can grant rights to themselves; ask another administrator."),
    _l("Ask another administrator to change your own rights."),
    _l("Too many failed sign-ins. Please wait a minute and try again."),
    _l("Wrong username or password, or the account is disabled."),
    _l("Please check the form."),
    _l("Invalid paging."),
    _l("Invalid filter."),
    _l("This grant is already revoked."),
    # Refusals of the organisation service (org.REFUSALS) and the upload check.
    _l("You cannot manage this person's rights."),
    _l("You can only grant a role whose rights you hold yourself, within your own scope."),
    _l("This person has left; no rights can be granted to them."),
    _l("Nobody can change a role they hold; ask another administrator."),
    _l("You are not allowed to manage roles."),
    _l("Nobody can name themselves someone's delegate."),
    _l("A user cannot be their own delegate."),
    _l("Only someone filling in this form can attach files to it."),
    _l("The request body must be a JSON object."),
    _l("Username and password are required."),
    # Errors of the form pages (_(failed) in forms/edit.html) and error pages (_(message)).
    _l("Please correct the highlighted fields."),
    _l("Only the submitter can change this form."),
    # Approvers editing at their step (forms.service.edit_at_step, approvals.engine).
    _l("edit"),
    _l("Your step does not let you change this form."),
    _l("Your step does not let you change these fields."),
    _l("may not be changed at this step"),
    _l("The form would no longer be complete."),
    _l("Only an approval may carry changed values."),
    _l("send data with the approve action, or change it with PATCH"),
    _l("must be an object of values"),
    _l("This submission was changed by someone else; reload it and try again."),
    _l("No such submission, or it is outside your scope."),
    _l("No such department, or it is outside your scope."),
    _l("No such subscription."),
    _l("No such export."),
    _l("This export has expired."),
    _l("This export is not ready or has expired."),
    # Detail messages (errors.Detail), shown next to a field or in a list.
    _l("is required"),
    _l("is not your current password"),
    _l("at least 10 characters"),
    _l("must not contain the username"),
    _l("must be a whole number from 1"),
    _l("must be a date like 2026-11-25"),
    _l("letters, digits, - and _ only"),
    _l("letters, digits, . _ - only"),
    _l("a department cannot sit under itself"),
    _l("a user cannot manage themselves"),
    _l("a user cannot be their own delegate"),
    _l("ends before it starts"),
    # Data sources (datasources.service, plugins.reach).
    _l(
        "Only a system administrator may configure the HR feed, which creates users and "
        "grants roles."
    ),
    _l("this key is the HR feed read by the HR sync"),
    _l("points at Quire's own database, which data sources may not read"),
    _l(
        "points into Quire's instance folder; a SQLite file there must be in "
        "this data source's own folder (datasources/<key>/)"
    ),
    # Refusals at the request boundary (app._JSONProvider, numbers.query_int).
    _l("The request contains text that is not valid Unicode."),
    _l("Invalid number."),
    # Sign-in and passwords (auth.service), shown as _(detail.message) or API messages.
    _l("must differ from the current one"),
    _l("An administrator has reset your password: sign in on the web and choose a new one first."),
    # Print copies (exports.print).
    _l(
        "This form's print header or footer cannot be printed; "
        "a designer needs to correct the template."
    ),
    # Workbook uploads (exports.workbook).
    _l("The workbook unpacks to too much data."),
    _l("too large when unpacked"),
    _l("The workbook has too many different texts."),
    _l("too many different texts"),
    # Attachments and one-line names (forms.service, datasources.service).
    _l("this file belongs to another submission; upload it again instead"),
    _l("one line, without line breaks or control characters"),
    # Files of Uploaded-file data sources (datasources.uploads, forms.attachments.scan).
    _l("Only CSV and Excel (.xlsx) files can be uploaded."),
    _l("upload a .csv or .xlsx file"),
    _l("The file needs a name."),
    _l("give the file a name"),
    _l("The file's content does not match its name."),
    _l("is not really an Excel workbook (.xlsx)"),
    _l("The CSV file is not UTF-8 text; save it as “CSV UTF-8” and upload it again."),
    _l("is not UTF-8 text"),
    _l("The file is empty."),
    _l("is empty"),
    _l("has no header row"),
    _l("The file cannot be read."),
    _l("The file could not be checked for viruses; please try again later."),
    _l("virus scan unavailable"),
    _l("The file did not pass the virus scan."),
    _l("refused by the virus scanner"),
    _l("Only data sources of type Uploaded file take files."),
    # The sql connector's settings (plugins.builtin.sql), shown at their field.
    _l("a SQLite database is a file and has no password: leave the password empty"),
    _l("must not contain the password; put it in the password field"),
    # Access reviews (reviews.service, access.narrowing_problems, org.REFUSALS).
    _l("Please check the campaign."),
    _l("Please check the decision."),
    _l("must be finance_roles or department"),
    _l("must not be in the past"),
    _l("must be a number of days from 0 to 60"),
    _l("must be quarterly or empty"),
    _l("must be keep, revoke or narrow"),
    _l("choose a narrower department or an earlier end"),
    _l("must be after today"),
    _l("say why the grant is revoked"),
    _l("must lie inside the grant's current scope"),
    _l("cannot add the subtree back"),
    _l("must be in the future (or revoke instead)"),
    _l("must be earlier than the current end"),
    _l("Only finance administrators and auditors can start an access review."),
    _l("Only finance administrators and auditors can close an access review."),
    _l("Only the reviewer asked about this grant can decide it."),
    _l("This grant has already been reviewed."),
    _l("This access review is closed."),
)
