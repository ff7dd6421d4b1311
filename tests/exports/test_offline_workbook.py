"""Issue 10's offline filling: sales1 downloads a blank expense claim workbook, fills it in
(with openpyxl, unprotected cells only), uploads it and gets a draft; a broken copy comes
back with every problem addressed by cell and nothing saved."""

from __future__ import annotations

import copy
import io
import re
import time
import zipfile
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from quire.designer.model import Template
from quire.report_templates import builtin_templates
from quire.runtime.errors import Detail
from quire.runtime.exports import workbook
from quire.runtime.extensions import db
from quire.runtime.forms import templates as template_service
from quire.runtime.models import AuditEvent, Submission

TODAY = date.today()
URL = "/api/v1/forms/expense-claim/workbook"


def blank(client) -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(URL)
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return response.data


def form_row(book, label: str) -> int:  # type: ignore[no-untyped-def]
    for row in book["表单"].iter_rows(min_col=1, max_col=1):
        if row[0].value and label in str(row[0].value):
            return row[0].row
    raise AssertionError(f"no row {label}")


def fill(content: bytes, form: dict[str, object], lines: list[tuple]) -> bytes:
    """Type into the workbook as a person would: unprotected cells only."""
    book = openpyxl.load_workbook(io.BytesIO(content))

    def put(sheet: str, address: str, value: object) -> None:
        cell = book[sheet][address]
        assert cell.protection.locked is False, f"{sheet}!{address} is protected"
        cell.value = value

    for label, value in form.items():
        put("表单", f"B{form_row(book, label)}", value)
    for index, line in enumerate(lines):
        for column, value in zip("ABCDE", line, strict=False):
            if value is not None:
                put("费用明细", f"{column}{7 + index}", value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, content: bytes, name: str = "claim.xlsx"):  # type: ignore[no-untyped-def]
    return client.post(
        URL, data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def good_lines() -> list[tuple]:
    return [
        (
            datetime.combine(TODAY - timedelta(days=3), datetime.min.time()),
            "travel",
            "上海出差 高铁",
            1250.5,
            "FP-2026-0001",
        ),
        ((TODAY - timedelta(days=2)).isoformat(), "meals", "客户午餐", "380", None),
        (TODAY - timedelta(days=1), "office", "打印纸", 99.5, None),
    ]


def submissions() -> int:
    return db.session.scalar(select(func.count(Submission.id))) or 0


def test_the_blank_workbook_is_protected_with_inputs_lists_and_a_hidden_identity(api):
    book = openpyxl.load_workbook(io.BytesIO(blank(api("sales1"))))
    assert book.sheetnames == ["表单", "费用明细", "_lists", "_quire"]
    meta = book["_quire"]
    assert (
        meta.sheet_state == "hidden"
        and meta["B1"].value == "expense-claim"
        and meta["B2"].value == 1
    )
    assert all(book[name].protection.sheet for name in book.sheetnames)

    form = book["表单"]
    payee = form_row(book, "收款人 Payee")
    assert form[f"A{payee}"].protection.locked and not form[f"B{payee}"].protection.locked
    assert form[f"B{form_row(book, '报销部门')}"].value == "SALES"  # the default, prefilled
    total = form_row(book, "报销总额")
    assert form[f"B{total}"].protection.locked  # computed: not an input
    assert "Computed" in form[f"C{total}"].value

    lines = book["费用明细"]
    assert [lines.cell(5, c).value for c in range(1, 6)] == [
        "date",
        "category",
        "description",
        "amount",
        "invoice",
    ]
    assert (
        not lines["A7"].protection.locked and not lines["D106"].protection.locked
    )  # 100 input rows
    assert lines["D107"].protection.locked and lines["A6"].protection.locked
    assert lines["D7"].number_format == "#,##0.00" and lines["A7"].number_format == "yyyy-mm-dd"
    category = next(v for v in lines.data_validations.dataValidation if "B7" in v.sqref)
    assert category.type == "list"
    column = re.search(r"\$([A-Z]+)\$2", category.formula1).group(1)
    assert [c.value for c in book["_lists"][column][1:6]] == [
        "travel",
        "meals",
        "office",
        "training",
        "other",
    ]


def test_sales1_fills_the_workbook_offline_and_the_upload_creates_a_draft(api):
    client = api("sales1")
    content = fill(blank(client), {"收款人": "李明", "收款账号": "6222020012345678"}, good_lines())
    response = upload(client, content)
    assert response.status_code == 201, response.json
    body = response.json
    assert (
        body["status"] == "draft"
        and body["form"] == "expense-claim"
        and body["department"] == "SALES"
    )
    data = body["data"]
    assert data["total"] == "1730.00"  # computed by the server
    assert [line["amount"] for line in data["lines"]] == ["1250.50", "380.00", "99.50"]
    assert data["lines"][0]["date"] == (TODAY - timedelta(days=3)).isoformat()
    assert (
        data["lines"][0]["invoice"] == "FP-2026-0001" and data["bank_account"] == "6222020012345678"
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "submission.upload"))
    assert event.object_id == str(body["id"]) and event.changes["lines"] == {"lines": 3}


def test_a_broken_copy_comes_back_cell_by_cell_and_nothing_is_saved(api):
    client = api("sales1")
    first, _second, third = good_lines()
    lines = [
        first,  # row 7
        ((TODAY - timedelta(days=2)).isoformat(), "meals", "客户午餐", "eighty", None),  # row 8
        (None, None, None, None, None),  # row 9: skipped
        third,  # row 10
        ((TODAY + timedelta(days=5)).isoformat(), "yachts", "游艇", 12.345, None),  # row 11
    ]
    before = submissions()
    response = upload(client, fill(blank(client), {"收款人": "李明"}, lines))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid" and "nothing was saved" in error["message"]
    found = {d["path"]: d["message"] for d in error["details"]}
    # in the uploader's language (Chinese here), without the row the cell address gives
    assert "金额须为数字" in found["费用明细!D8"]
    assert "不能晚于今天" in found["费用明细!A11"]
    assert "须为以下之一" in found["费用明细!B11"]
    assert "位小数" in found["费用明细!D11"]
    assert not any(m.startswith(("row ", "第")) for m in found.values())
    assert submissions() == before
    refused = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "submission.upload_refused")
    )
    assert refused is not None and refused.changes["problems"] == len(found)


def test_a_problem_with_a_form_field_points_at_its_cell_on_the_form_sheet(api):
    client = api("sales1")
    content = blank(client)
    row = form_row(openpyxl.load_workbook(io.BytesIO(content)), "报销部门")
    response = upload(client, fill(content, {"收款人": "李明", "报销部门": "NOPE"}, good_lines()))
    assert response.status_code == 422
    assert response.json["error"]["details"] == [
        {"path": f"表单!B{row}", "message": "报销部门：“NOPE”不在可选范围内"}
    ]


def test_lines_below_the_input_area_are_reported_not_dropped(api):
    client = api("sales1")
    book = openpyxl.load_workbook(io.BytesIO(blank(client)))
    book["费用明细"]["C120"] = (
        "藏在下面的费用"  # a person unprotected the sheet and typed far below
    )
    out = io.BytesIO()
    book.save(out)
    response = upload(client, out.getvalue())
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["path"] == "费用明细!A120"


def test_a_workbook_for_an_older_version_is_refused_with_a_clear_message(api):
    client = api("sales1")
    old = fill(blank(client), {"收款人": "李明"}, good_lines())
    record = template_service.template_by_key("expense-claim")
    doc = copy.deepcopy(template_service.version_record(record).document)
    doc["description"] = {"zh": "新版本", "en": "A new version"}
    template_service.save_draft(None, doc)
    template_service.publish(None, "expense-claim")
    db.session.commit()
    response = upload(client, old)
    assert response.status_code == 422
    detail = response.json["error"]["details"][0]
    assert detail["path"] == "_quire!B2"
    # In the reader's language (the demo's people read Chinese).
    assert "第 1 版" in detail["message"] and "第 2 版" in detail["message"]
    assert "请下载新的空白工作簿" in detail["message"]
    assert upload(client, fill(blank(client), {"收款人": "李明"}, good_lines())).status_code == 201


def _repack(
    content: bytes, extra: dict[str, bytes], types_patch: tuple[bytes, bytes] | None = None
) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = src.read(info)
            if types_patch and info.filename == "[Content_Types].xml":
                data = data.replace(*types_patch)
            dst.writestr(info.filename, data)
        for name, data in extra.items():
            dst.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "case",
    [
        "xlsm-name",
        "vba-part",
        "macro-type",
        "macro-sheet",
        "external-link",
        "not-a-zip",
        "legacy-xls",
    ],
)
def test_macros_external_links_and_other_files_are_refused(api, case):
    client = api("sales1")
    good = fill(blank(client), {"收款人": "李明"}, good_lines())
    content, name = {
        "xlsm-name": (good, "claim.xlsm"),
        "vba-part": (_repack(good, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"}), "claim.xlsx"),
        "macro-type": (
            _repack(good, {}, (b"sheet.main+xml", b"sheet.macroEnabled.main+xml")),
            "claim.xlsx",
        ),
        "macro-sheet": (_repack(good, {"xl/macrosheets/sheet1.xml": b"<xm/>"}), "claim.xlsx"),
        "external-link": (
            _repack(good, {"xl/externalLinks/externalLink1.xml": b"<externalLink/>"}),
            "claim.xlsx",
        ),
        "not-a-zip": (b"MZ\x90\x00 this is not a workbook", "claim.xlsx"),
        "legacy-xls": (good, "claim.xls"),
    }[case]
    before = submissions()
    response = upload(client, content, name)
    assert response.status_code == 422, response.json
    assert response.json["error"]["details"][0]["path"] == "file"
    assert submissions() == before


def test_xml_entities_in_an_upload_are_not_expanded(api):
    client = api("sales1")
    good = fill(blank(client), {"收款人": "李明"}, good_lines())
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><sst>&b;</sst>'
    )
    with zipfile.ZipFile(io.BytesIO(good)) as src:
        names = src.namelist()
    target = "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in names else "xl/workbook.xml"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, bomb if info.filename == target else src.read(info))
    response = upload(client, out.getvalue())
    assert response.status_code == 422 and response.json["error"]["details"][0]["path"] == "file"


def test_a_workbook_over_the_size_limit_is_413(app, api):
    app.config["WORKBOOK_MAX_BYTES"] = 2048
    client = api("sales1")
    response = upload(client, fill(blank(client), {"收款人": "李明"}, good_lines()))
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"


def test_a_workbook_of_another_form_or_none_at_all_is_refused(api):
    client = api("sales1")
    other = client.get("/api/v1/forms/cost-allocation/workbook")
    assert other.status_code == 200
    response = upload(client, other.data)
    assert (
        response.status_code == 422
        and "cost-allocation" in response.json["error"]["details"][0]["message"]
    )
    plain = openpyxl.Workbook()
    out = io.BytesIO()
    plain.save(out)
    response = upload(client, out.getvalue())
    assert (
        response.status_code == 422 and response.json["error"]["details"][0]["path"] == "_quire!B1"
    )
    assert client.post(URL, data={}, content_type="multipart/form-data").status_code == 400


def test_people_who_cannot_fill_in_forms_get_no_workbook(api):
    response = api("auditor").get(URL)
    assert response.status_code == 403
    assert api("sales1").get("/api/v1/forms/budget-vs-actual/workbook").status_code == 404
    assert api("sales1").get("/api/v1/forms/no-such-form/workbook").status_code == 404


def test_the_web_page_downloads_the_blank_and_takes_the_filled_copy_with_csrf(signed_in):
    browser = signed_in("sales1")
    page = browser.get("/forms/expense-claim/workbook")
    assert page.status_code == 200 and "/forms/expense-claim/workbook.xlsx" in page.text
    content = browser.get("/forms/expense-claim/workbook.xlsx").data
    good = fill(content, {"收款人": "李明"}, good_lines())
    response = browser.post_form(
        "/forms/expense-claim/workbook",
        {"file": (io.BytesIO(good), "claim.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and "/edit" in response.location
    bad = fill(
        content, {"收款人": "李明"}, [(TODAY.isoformat(), "travel", "出租车", "eighty", None)]
    )
    response = browser.post_form(
        "/forms/expense-claim/workbook",
        {"file": (io.BytesIO(bad), "claim.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "费用明细!D7" in response.text
    no_csrf = browser.client.post(
        "/forms/expense-claim/workbook",
        data={"file": (io.BytesIO(good), "c.xlsx")},
        content_type="multipart/form-data",
    )
    assert no_csrf.status_code == 400


def test_every_json_path_maps_back_to_its_cell():
    template = Template.model_validate(builtin_templates()["expense-claim"])
    filled = workbook.FilledWorkbook(workbook.layout_of(template), rows={"lines": [7, 8, 10]})
    assert filled.locate(Detail("lines[2].amount", "row 3: Amount must be a number")) == Detail(
        "Lines!D10", "Amount must be a number"
    )
    assert filled.locate(Detail("lines[1]", "row 2 must be an object")).path == "Lines!A8"
    assert filled.locate(Detail("lines", "needs at least 1 rows")).path == "Lines!A7"
    chinese = workbook.FilledWorkbook(workbook.layout_of(template, "zh_CN"), rows={"lines": [7]})
    assert chinese.locate(Detail("lines[0].date", "不能晚于今天")).path == "费用明细!A7"
    assert chinese.locate(Detail("payee_name", "is required")).path.startswith("表单!B")
    assert filled.locate(Detail("payee_name", "is required")).path.startswith("Form!B")
    assert filled.locate(Detail("rules.x", "broken")).path == "Form!A1"


def test_a_cost_allocation_round_trips_with_percent_cells_and_a_computed_column(api):
    client = api("finadmin")
    response = client.get("/api/v1/forms/cost-allocation/workbook")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    shares = book["分摊比例"]  # the table's label, in the downloader's language
    assert [shares.cell(5, c).value for c in (1, 2, 3)] == ["department", "percent", "allocated"]
    assert not shares["B7"].protection.locked and shares["B7"].number_format == "0.00%"
    assert shares["C7"].protection.locked  # computed: not an input
    form = book["表单"]
    for label, value in (("会计期间", "2026-03"), ("说明", "=年度审计费分摊"), ("金额", 30000)):
        cell = form[f"B{form_row(book, label)}"]
        assert cell.protection.locked is False
        cell.value = value
        cell.data_type = "s" if isinstance(value, str) else cell.data_type  # typed with a leading '
    shares["A7"], shares["B7"] = "SALES", 0.6  # Excel keeps 60 % as the fraction
    shares["A8"], shares["B8"] = "RD", "40%"
    out = io.BytesIO()
    book.save(out)
    response = client.post(
        "/api/v1/forms/cost-allocation/workbook",
        data={"file": (io.BytesIO(out.getvalue()), "allocation.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    data = response.json["data"]
    assert [s["percent"] for s in data["shares"]] == ["60.00", "40.00"]
    assert [s["allocated"] for s in data["shares"]] == ["18000.00", "12000.00"]
    assert data["description"] == "=年度审计费分摊"  # kept as data; neutralised on export


def _with_shared_strings(content: bytes, shared: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):
        for info in src.infolist():
            if info.filename.lower() != "xl/sharedstrings.xml":
                dst.writestr(info.filename, src.read(info))
        dst.writestr("xl/sharedStrings.xml", shared)
    return out.getvalue()


def test_a_small_file_that_unpacks_to_95_mb_is_refused_before_parsing(api):
    client = api("sales1")
    good = fill(blank(client), {"收款人": "李明"}, good_lines())
    shared = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        b'2006/main" count="1" uniqueCount="1"><si><t>' + b"b" * 95_000_000 + b"</t></si></sst>"
    )
    bomb = _with_shared_strings(good, shared)
    assert len(bomb) < 400_000
    before = submissions()
    started = time.perf_counter()
    response = upload(client, bomb)
    elapsed = time.perf_counter() - started
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"
    assert response.json["error"]["details"][0]["path"] == "file"
    assert elapsed < 10  # parsing it took 65 s: it was refused before, not after
    assert submissions() == before


def test_a_workbook_with_too_many_shared_strings_is_refused(api):
    client = api("sales1")
    good = fill(blank(client), {"收款人": "李明"}, good_lines())
    many = workbook.MAX_SHARED_STRINGS + 1
    shared = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        b'2006/main">' + b"<si><t>x</t></si>" * many + b"</sst>"
    )
    response = upload(client, _with_shared_strings(good, shared))
    assert response.status_code == 413
    assert response.json["error"]["details"] == [{"path": "file", "message": "不同的文本过多"}]


def test_the_refusal_is_in_the_users_language_on_the_web_page(api, signed_in):
    content = blank(api("sales1"))
    bomb = _with_shared_strings(
        content, b'<?xml version="1.0"?><sst><si><t>' + b"b" * 20_000_000 + b"</t></si></sst>"
    )
    response = signed_in("sales1").post_form(
        "/forms/expense-claim/workbook",
        {"file": (io.BytesIO(bomb), "claim.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "解压后的数据过多" in response.text


def test_sheets_are_named_in_the_downloaders_language_and_either_naming_uploads(api):
    """An English download has Form and Lines; a Chinese uploader's server still reads it (the
    hidden _quire sheet records the names it was given), and its errors name those sheets."""
    client = api("sales1")
    english = client.get(URL, headers={"Accept-Language": "en"})
    assert english.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(english.data))
    assert book.sheetnames == ["Form", "Lines", "_lists", "_quire"]
    recorded = {r[0].value: r[1].value for r in book["_quire"].iter_rows(max_col=2)}
    assert recorded["sheet"] == "Form" and recorded["sheet:lines"] == "Lines"
    for row in book["Form"].iter_rows(min_col=1, max_col=1):
        if row[0].value and "收款人" in str(row[0].value):
            book["Form"][f"B{row[0].row}"] = "李明"
        if row[0].value and "收款账号" in str(row[0].value):
            book["Form"][f"B{row[0].row}"] = "6222020012345678"
    book["Lines"]["A7"] = datetime.combine(TODAY - timedelta(days=1), datetime.min.time())
    book["Lines"]["B7"] = "travel"
    book["Lines"]["D7"] = "eighty"
    out = io.BytesIO()
    book.save(out)
    refused = upload(client, out.getvalue())
    assert refused.status_code == 422
    assert [d["path"] for d in refused.json["error"]["details"]] == ["Lines!D7"]
    book["Lines"]["D7"] = 80
    out = io.BytesIO()
    book.save(out)
    made = upload(client, out.getvalue())
    assert made.status_code == 201, made.json
    assert made.json["data"]["lines"][0]["amount"] == "80.00"
