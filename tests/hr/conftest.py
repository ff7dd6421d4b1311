"""HR sync fixtures: the sample HR export (the demo organisation plus a new hire), editable
per test, and an approval task waiting for rd1."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest
from quire_hr_directory import sample_folder


class HrExport:
    """The sample export copied into a test folder; ``change("rd1", status="left")``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for name in ("employees.csv", "departments.csv", "positions.toml"):
            shutil.copy(sample_folder() / name, folder / name)

    @property
    def employees(self) -> Path:
        return self.folder / "employees.csv"

    @property
    def departments(self) -> Path:
        return self.folder / "departments.csv"

    @property
    def positions(self) -> Path:
        return self.folder / "positions.toml"

    def _rows(self) -> list[dict[str, str]]:
        with self.employees.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    def _write(self, rows: list[dict[str, str]]) -> None:
        with self.employees.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    def change(self, username: str, **values: str) -> None:
        rows = self._rows()
        for row in rows:
            if row["username"] == username:
                row.update(values)
        self._write(rows)

    def add(self, **values: str) -> None:
        rows = self._rows()
        rows.append({k: values.get(k, "") for k in rows[0]})
        self._write(rows)

    def only(self, *usernames: str) -> None:
        self._write([r for r in self._rows() if r["username"] in usernames])


@pytest.fixture
def hr_export(app, tmp_path) -> HrExport:
    """In the ``hr-directory`` source's own folder, the only place that source may read."""
    folder = Path(app.config["INSTANCE_PATH"]) / "datasources" / "hr-directory"
    folder.mkdir(parents=True)
    return HrExport(folder)


TASK_FORM: dict[str, Any] = {
    "key": "equipment-request",
    "kind": "form",
    "title": {"zh": "设备申请", "en": "Equipment request"},
    "fields": [
        {"key": "item", "type": "text", "label": {"zh": "物品", "en": "Item"}, "required": True},
    ],
    "approval": {
        "steps": [
            {
                "key": "check",
                "name": {"zh": "核对", "en": "Check"},
                "assignee": {"kind": "user", "username": "rd1"},
            }
        ]
    },
}


@pytest.fixture
def task_for_rd1(app, user):  # type: ignore[no-untyped-def]
    """A submission waiting at a step assigned to rd1."""
    from quire.runtime.approvals import engine
    from quire.runtime.extensions import db
    from quire.runtime.forms import service, templates

    templates.save_draft(None, TASK_FORM)
    templates.publish(None, TASK_FORM["key"])
    db.session.commit()
    submission = service.create(user("sales1"), TASK_FORM["key"], {"item": "Laptop"})
    db.session.commit()
    engine.submit(submission.submitter, submission.id, submission.version)
    db.session.commit()
    return submission


@pytest.fixture
def open_task_holders():  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from quire.runtime.extensions import db
    from quire.runtime.models import ApprovalTask, TaskStatus

    def get(submission) -> list[str]:  # type: ignore[no-untyped-def]
        tasks = db.session.scalars(
            select(ApprovalTask).where(
                ApprovalTask.submission_id == submission.id,
                ApprovalTask.status == TaskStatus.OPEN,
            )
        )
        return [t.assignee.username for t in tasks]

    return get
