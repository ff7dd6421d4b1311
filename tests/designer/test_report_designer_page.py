"""The report designer page in a test client: a finance admin builds the spending cross-tab
from a blank report, sees a live preview on real data, fixes what validation finds at its
path, and publishes; the report then serves every reader in their own scope."""

from __future__ import annotations

import re
from datetime import date

from quire.runtime.reports import engine

YEAR = date.today().year


def _version(html: str) -> str:
    match = re.search(r'id="dv" name="version" value="(\d+)"', html)
    assert match, "no draft version on the page"
    return match.group(1)


class Designer:
    def __init__(self, browser, key: str) -> None:  # type: ignore[no-untyped-def]
        self.browser = browser
        self.key = key
        self.html = browser.get(f"/designer/templates/{key}/report").text

    def change(self, **form: object) -> str:
        from tests.conftest import csrf_from

        page = self.browser.get(f"/designer/templates/{self.key}/report").text
        response = self.browser.client.post(
            f"/designer/templates/{self.key}/report/ops",
            data={"csrf_token": csrf_from(page), "version": _version(page), **form},
        )
        assert response.status_code == 200
        self.html = response.text
        return self.html

    def preview(self, **params: str) -> str:
        return self.browser.get(
            f"/designer/templates/{self.key}/report/preview", query_string=params
        ).text


def test_finadmin_builds_publishes_and_readers_see_their_scope(signed_in, user):
    finadmin = signed_in("finadmin")
    made = finadmin.post_form(
        "/designer/templates/new-report",
        {"title_zh": "部门月度支出", "title_en": "Spending by department and month"},
    )
    assert made.status_code == 302
    key = "spending-by-department-and-month"
    assert made.headers["Location"].endswith(f"/designer/templates/{key}/report")
    designer = Designer(finadmin, key)
    html = designer.html
    for part in ('data-testid="source-form"', 'data-testid="steps"', 'id="preview"', "tab-json"):
        assert part in html, part
    assert "<script>" not in html and 'style="' not in html  # strict CSP: no inline code
    # A blank report already previews real approved claims, grouped by department.
    assert 'data-testid="report-table"' in designer.preview()

    designer.change(op="remove_step", index="0")
    designer.change(op="add_step", type="pivot")
    designer.change(
        op="set_step",
        index="0",
        step_type="pivot",
        rows="department",
        columns="month",
        values="amount",
        rollup="department_tree",
        **{"thresholds.amber": "50000", "thresholds.red": "200000"},
    )
    designer.change(op="remove_column", index="2")
    designer.change(op="set_chart", kind="bar", category="department_name", values="", stacked="on")
    designer.change(
        op="set_parameter",
        key="year",
        type="year",
        default="=YEAR(TODAY())",
        required="on",
        **{"label.zh": "年度", "label.en": "Year"},
    )
    designer.change(
        op="set_column",
        index="1",
        key="department_name",
        type="text",
        **{
            "label.zh": "部门",
            "label.en": "Department",
            "link.report": "expense-ledger",
            "link.params": "year = =year\ndepartment = =department\nstatus = approved",
        },
    )
    preview = designer.preview(year=str(YEAR))
    assert 'data-testid="report-table"' in preview and 'data-testid="chart"' in preview
    assert "合计" in preview  # the row-total column

    # A filter on a misspelt column is shown at its path, and blocks publishing.
    designer.change(op="add_step", type="filter")
    designer.change(op="move_step", index="1", by="-1")
    html = designer.change(op="set_step", index="0", step_type="filter", where="amout > 0")
    assert "transforms[0].where" in html and "unknown column &#34;amout&#34;" in html
    assert 'id="publish"' not in html
    assert "transforms[0].where" in designer.preview()
    designer.change(op="set_step", index="0", step_type="filter", where='status = "approved"')

    html = finadmin.get(f"/designer/templates/{key}/report?tab=changes").text
    publish = finadmin.post_form(
        f"/designer/templates/{key}/report/publish",
        {"version": _version(html), "note": "first"},
        page=f"/designer/templates/{key}/report",
    )
    assert publish.status_code == 302
    cfo = engine.run(user("cfo"), key, {"year": str(YEAR)})
    sales = engine.run(user("salesmgr"), key, {"year": str(YEAR)})
    assert {r["department"] for r in sales.rows} <= {"SALES", "SALES-E"}
    assert {r["department"] for r in cfo.rows} > {r["department"] for r in sales.rows}
    assert cfo.charts and cfo.charts[0].stacked


def test_an_operation_that_does_not_fit_is_answered_at_its_path(signed_in):
    finadmin = signed_in("finadmin")
    finadmin.post_form("/designer/templates/new-report", {"title_zh": "测试", "title_en": "Test"})
    designer = Designer(finadmin, "test")
    html = designer.change(op="set_step", index="7", step_type="group")
    assert "ops[0].index" in html


def test_staff_cannot_open_the_report_designer(signed_in):
    assert signed_in("sales1").get("/designer/templates/budget-vs-actual/report").status_code == 403


def test_the_form_designer_hands_a_report_to_the_report_designer(signed_in):
    response = signed_in("finadmin").get("/designer/templates/budget-vs-actual/design")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/designer/templates/budget-vs-actual/report")
