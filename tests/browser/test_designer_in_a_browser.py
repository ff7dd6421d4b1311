"""The form designer in Chromium: finadmin builds a travel request from scratch (the finance
step may correct the advance), simulates, previews, publishes; sales1 files one, salesmgr
approves it from the inbox, finrev corrects the advance and approves. The expense claim's
auto-approve limit is lowered and the diff read before publishing. A second story drives the
designer by keyboard alone.

Every step waits for the state it needs (a cell, a status, a sentence), never for time.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from .conftest import sign_in

SHOTS = Path("test-results")


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"designer-{name}.png"), full_page=True)


def saved_after(page, version: str) -> str:  # type: ignore[no-untyped-def]
    """Wait until the draft moved past `version`; return the new one."""
    status = page.get_by_test_id("draft-status")
    expect(status).not_to_have_attribute("data-version", version)
    new = status.get_attribute("data-version") or ""
    # The next change carries the draft's version from #dv: wait until it holds the new one.
    expect(page.locator("#dv")).to_have_value(new)
    return new


def version_of(page) -> str:  # type: ignore[no-untyped-def]
    return page.get_by_test_id("draft-status").get_attribute("data-version") or ""


def change(page, selector: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """Type into a property and leave it (autosave on change); wait for the save."""
    before = version_of(page)
    page.fill(selector, value)
    page.press(selector, "Tab")
    saved_after(page, before)


def click_saving(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    before = version_of(page)
    page.click(selector)
    saved_after(page, before)


def choose(page, selector: str, value: str) -> None:  # type: ignore[no-untyped-def]
    before = version_of(page)
    page.select_option(selector, value)
    saved_after(page, before)


def open_tab(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.click(f"#tab-{name}")
    expect(page.locator(f"#panel-{name}")).to_be_visible()


def test_finadmin_builds_a_travel_request_and_sales1_files_one(page):  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "finadmin")
    page.goto("/designer/templates/new")
    page.fill("input[name=title_zh]", "出差申请")
    page.fill("input[name=title_en]", "Travel request")
    page.fill("input[name=key]", "travel-request")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/designer/templates/travel-request/design")

    # Text, date range and money from the palette; each new field is selected, so its
    # label is typed at once and its key follows the English label.
    click_saving(page, "#add-text")
    change(page, "#p-label-zh", "目的地")
    change(page, "#p-label-en", "Destination")
    expect(page.get_by_test_id("cell-destination")).to_be_visible()
    click_saving(page, "#add-date_range")
    change(page, "#p-label-en", "Travel dates")
    change(page, "#p-label-zh", "出差日期")
    click_saving(page, "#add-money")
    change(page, "#p-label-en", "Advance")
    change(page, "#p-label-zh", "预支金额")

    # A table of lines: the palette adds columns while the table is selected.
    click_saving(page, "#add-table")
    change(page, "#p-label-en", "Lines")
    change(page, "#p-label-zh", "费用明细")
    expect(page.get_by_test_id("cell-lines")).to_be_visible()
    click_saving(page, "#add-money")
    expect(page.get_by_test_id("column-lines.money")).to_be_visible()
    page.click("#sel-lines-money")
    expect(page.locator("#p-label-en")).to_have_value("Money")
    change(page, "#p-label-en", "Amount")
    change(page, "#p-label-zh", "费用金额")
    expect(page.get_by_test_id("column-lines.amount")).to_be_visible()

    # A formula total, checked while typed, with the field keys to insert.
    page.click("#sel-destination")
    expect(page.locator("#p-label-en")).to_have_value("Destination")
    click_saving(page, "#add-formula")
    change(page, "#p-label-en", "Total")
    change(page, "#p-label-zh", "合计")
    page.fill("#p-expression", "SUM(lines.amout)")
    expect(page.locator(".formula-error")).to_contain_text("amout")
    page.fill("#p-expression", "SUM(")
    page.click("#p-expression + .formula-check + .formula-names [data-insert='lines.amount']")
    page.type("#p-expression", ")")
    expect(page.locator(".formula-meaning")).to_be_visible()
    before = version_of(page)
    page.press("#p-expression", "Tab")
    saved_after(page, before)
    expect(page.get_by_test_id("cell-total")).to_be_visible()

    # A masked field: the bank account, with the finance preset.
    click_saving(page, "#add-text")
    change(page, "#p-label-en", "Bank account")
    change(page, "#p-label-zh", "收款账号")
    choose(page, "#p-mask", "bank_account")
    open_tab(page, "permissions")
    choose(page, "#preset-bank_account", "finance_only")
    expect(page.get_by_test_id("perm-bank_account-all")).to_have_value("masked")
    shot(page, "1-permissions")

    # A two-step route: the manager, then finance only from 100,000.
    open_tab(page, "route")
    click_saving(page, "#add-step")
    click_saving(page, "#add-step")
    choose(page, "#s-step_2-kind", "role")
    choose(page, "#s-step_2-role", "finance_reviewer")
    change(page, "#s-step_2-zh", "财务审核")
    change(page, "#s-step_2-en", "Finance review")
    page.fill("#s-step_2-when", "total >= 100000")
    expect(page.locator("#panel-route .formula-meaning").first).to_be_visible()
    page.press("#s-step_2-when", "Tab")
    expect(page.locator(".route-tree [data-step='step_2'] .rt-reason")).to_contain_text("100,000")
    # Who decides is said with the role's name, not its key.
    expect(page.locator(".route-tree [data-step='step_2'] .rt-detail")).to_have_text(
        "全公司的财务审核"
    )
    shot(page, "2-route")

    # The finance step may correct the advance: one cell of the step × field matrix.
    open_tab(page, "permissions")
    choose(page, "#stepperm-advance-step_2", "edit")
    expect(page.locator("#stepperm-advance-step_2")).to_have_value("edit")
    expect(page.locator("#stepperm-advance-step")).to_have_value("")
    shot(page, "2b-step-permissions")

    # Simulate 3,000 and 150,000 for sales1 of SALES.
    open_tab(page, "simulate")
    page.select_option("#sim-submitter", "sales1")
    page.select_option("#sim-department", "SALES")
    page.fill("#sim-total", "3000")
    page.click("#sim-run")
    result = page.get_by_test_id("simulation-result")
    expect(result.locator("tr[data-step='step_2']")).to_have_attribute("data-status", "skipped")
    expect(result.locator("tr[data-step='step']")).to_contain_text("salesmgr")
    expect(result.locator("tr[data-step='step_2'] .sim-reason")).to_contain_text("100,000")
    expect(result.locator("tr[data-step='step_2'] .sim-reason")).not_to_contain_text(">=")
    page.fill("#sim-total", "150000")
    page.click("#sim-run")
    expect(result.locator("tr[data-step='step_2']")).to_have_attribute("data-status", "will_run")
    expect(result.locator("tr[data-step='step_2']")).to_contain_text("finrev")
    shot(page, "3-simulate")

    # Preview as sales1 while drafting: the bank account is an input; as salesmgr at the
    # manager's step it is masked.
    open_tab(page, "preview")
    page.select_option("#pv-viewer", "sales1")
    page.select_option("#pv-step", "draft")
    page.click("#pv-run")
    expect(page.locator("#preview-result input[name=bank_account]")).to_be_visible()
    page.select_option("#pv-viewer", "salesmgr")
    page.select_option("#pv-step", "step")
    page.click("#pv-run")
    expect(page.locator("#preview-result #value-bank_account")).to_contain_text("****")
    expect(page.get_by_test_id("preview-result")).to_contain_text("在“审批”时看到的样子")
    shot(page, "4-preview")

    # Publish with a note.
    open_tab(page, "changes")
    page.fill("#publish-note", "First travel request")
    page.click("#publish")
    expect(page.locator(".flash-ok")).to_be_visible()
    expect(page.locator("#panel-history")).to_contain_text("First travel request")

    # sales1 files one.
    page.context.clear_cookies()
    sign_in(page, "sales1")
    page.goto("/forms/travel-request/new")
    page.fill("input[name=destination]", "上海")
    page.fill("input[name=advance]", "500")
    page.fill("input[name=bank_account]", "6222 0212 3456 1234")
    page.fill("input[name=lines-0-item]", "机票")
    page.fill("input[name=lines-0-amount]", "3000")
    page.click("button[value=save]")
    page.wait_for_url("**/submissions/*/edit")
    expect(page.locator("#computed-total")).to_contain_text("3,000")
    shot(page, "5-filed")

    # It is a bigger trip than that: 150,000, so the finance step will run. sales1 submits.
    page.fill("input[name=lines-0-amount]", "150000")
    expect(page.locator("#computed-total")).to_contain_text("150,000")
    page.click("[data-testid=submit]")
    page.wait_for_url("**/submissions/*")
    expect(page.locator("#status")).to_have_text("审批中")
    expect(page.locator(".route-tree [data-step='step_2']")).to_be_visible()
    number = page.locator("hgroup h1 small").inner_text()
    shot(page, "5b-submitted")

    # salesmgr finds it in the inbox, opens it and approves.
    page.context.clear_cookies()
    sign_in(page, "salesmgr")
    page.goto("/inbox")
    item = page.get_by_test_id("inbox-item").filter(has_text=number)
    expect(item).to_contain_text("150,000.00")
    shot(page, "5c-inbox")
    item.get_by_role("link", name=number).click()
    page.wait_for_url("**/submissions/*")
    expect(page.locator("#step-edit-form")).to_have_count(0)  # the manager's step edits nothing
    page.get_by_role("button", name="同意", exact=True).click()
    expect(page.locator(".flash-ok")).to_contain_text("已同意")
    expect(page.get_by_test_id("current-step")).to_contain_text("财务审核")
    shot(page, "5d-manager-approved")

    # finrev opens it from the inbox; the advance is an input at the finance step: 500 → 800.
    page.context.clear_cookies()
    sign_in(page, "finrev")
    page.goto("/inbox")
    item = page.get_by_test_id("inbox-item").filter(has_text=number)
    expect(item).to_contain_text("财务审核")
    item.get_by_role("link", name=number).click()
    page.wait_for_url("**/submissions/*")
    form = page.locator("#step-edit-form")
    expect(form.locator("input[name=advance]")).to_have_value("500.00")
    expect(form.locator("input[name=destination]")).to_have_count(0)
    form.locator("input[name=advance]").fill("800")
    page.fill("#approval input[name=comment]", "预支按标准调整")
    shot(page, "5e-finance-corrects")
    # The decision's own 同意 carries the correction (no second button to find).
    page.get_by_role("button", name="同意", exact=True).click()
    expect(page.locator("#status")).to_have_text("已批准")
    changes = page.get_by_test_id("step-edit-changes")
    expect(changes).to_contain_text("预支金额")
    expect(changes.locator("del")).to_contain_text("500")
    expect(changes.locator("ins")).to_contain_text("800")
    expect(page.locator("#approval .timeline")).to_contain_text("预支按标准调整")
    shot(page, "5f-approved")
    assert page.csp_violations == []


def test_the_expense_claim_limit_is_lowered_and_the_diff_read_before_publishing(page):  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "finadmin")
    page.goto("/designer/templates/expense-claim/design?tab=route")
    page.fill("#auto-rule", "total < 5000 AND within_budget")
    before = version_of(page)
    page.press("#auto-rule", "Tab")
    saved_after(page, before)
    open_tab(page, "changes")
    expect(page.get_by_test_id("changes")).to_contain_text("10,000 → 5,000")
    shot(page, "6-diff")
    page.fill("#publish-note", "Lower the auto-approve limit")
    page.click("#publish")
    expect(page.locator(".flash-ok")).to_be_visible()
    assert page.csp_violations == []


def test_the_designer_by_keyboard_alone(page):  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "finadmin")
    page.goto("/designer/templates/expense-claim/design")
    kb = page.keyboard

    # Select a field: focus its name (as Tab would) and press Enter.
    page.focus("#sel-payee_name")
    kb.press("Enter")
    expect(page.locator("#p-label-en")).to_have_value("Payee")
    rows = page.locator(".dz-row[data-section='0'] .dz-cell")
    expect(rows.nth(2)).to_have_attribute("data-key", "payee_name")

    # Move it up (out of its shared row, above), then undo with Ctrl+Z.
    before = version_of(page)
    page.focus("#up-payee_name")
    kb.press("Enter")
    version = saved_after(page, before)
    expect(page.locator(".dz-row[data-section='0']").nth(1).locator(".dz-cell")).to_have_count(1)
    page.focus("#sel-payee_name")
    kb.press("Control+z")
    saved_after(page, version)
    expect(page.locator("#redo")).to_be_enabled()

    # Add a field from the palette with the keyboard, then move it into the lines table.
    before = version_of(page)
    page.focus("#add-text")
    kb.press("Enter")
    version = saved_after(page, before)
    new_key = page.locator(".dz-cell.selected").get_attribute("data-key")
    page.focus(f"#into-{new_key}")
    kb.press("ArrowDown")  # the first table in the list: the lines
    saved_after(page, version)
    expect(page.get_by_test_id(f"column-lines.{new_key}")).to_be_visible()

    # Reorder the route by keyboard: the CFO step one earlier.
    page.focus("#tab-route")
    kb.press("Enter")
    before = version_of(page)
    page.focus("#step-up-cfo")
    kb.press("Enter")
    saved_after(page, before)
    steps = page.locator(".dz-steps .dz-step")
    expect(steps.nth(1)).to_have_attribute("data-key", "cfo")
    shot(page, "7-keyboard")
    assert page.csp_violations == []


def test_a_refused_json_save_keeps_the_text_and_selects_the_wrong_line(page):  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "finadmin")
    page.goto("/designer/templates/cost-allocation/design?tab=json")
    editor = page.get_by_test_id("json-editor")
    text = editor.input_value()
    typed = text.replace('"key": "amount"', '"key": "amount" "note": 1', 1)
    wrong_line = typed[: typed.index('"note"')].count("\n") + 1
    editor.fill(typed)
    page.click("#json-save")

    problem = page.get_by_test_id("json-problem")
    expect(problem).to_have_attribute("data-line", str(wrong_line))
    expect(problem).to_contain_text(f"第 {wrong_line} 行")
    expect(problem).to_contain_text("缺少逗号")
    expect(editor).to_have_value(typed)
    # The editor has the wrong place selected, ready to correct.
    selected = page.evaluate(
        "() => { const e = document.getElementById('json-document');"
        " return e.value.slice(0, e.selectionStart).split('\\n').length; }"
    )
    assert selected == wrong_line
    expect(editor).to_be_focused()
    shot(page, "8-json-refused")

    # A problem of the document itself: its path links to its line in the text.
    editor.fill(text.replace('"type": "money"', '"type": "monee"', 1))
    page.click("#json-save")
    problem = page.get_by_test_id("json-problem")
    expect(problem.locator(".json-path")).to_have_text("fields[2].type")
    expect(problem.locator(".json-message")).to_contain_text("未知的字段类型“monee”")
    expect(problem.locator(".json-message")).to_contain_text("是不是“money”")
    page.click("#panel-json h2")  # away from the editor, then back by the link
    problem.locator(".json-at").click()
    expect(editor).to_be_focused()

    # Corrected, it saves, and the designer shows the same draft.
    before = version_of(page)
    editor.fill(text.replace('"zh": "分摊金额"', '"zh": "分摊总额"', 1))
    page.click("#json-save")
    saved_after(page, before)
    expect(page.get_by_test_id("json-problem")).to_have_count(0)
    open_tab(page, "form")
    expect(page.locator("#sel-amount")).to_contain_text("分摊总额")
    assert page.csp_violations == []
