"""Helpers for the print-copy and offline-workbook stories."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

TODAY = date.today()


def claim_data(**overrides):  # type: ignore[no-untyped-def]
    data = {
        "payee_name": "李明",
        "bank_account": "6222 0200 1234 5678",
        "lines": [
            {
                "date": (TODAY - timedelta(days=3)).isoformat(),
                "category": "travel",
                "description": "上海出差 高铁",
                "amount": "1250.50",
                "invoice": "FP-2026-0001",
            },
            {
                "date": (TODAY - timedelta(days=2)).isoformat(),
                "category": "meals",
                "description": "客户午餐",
                "amount": "380",
            },
            {
                "date": (TODAY - timedelta(days=1)).isoformat(),
                "category": "office",
                "description": "打印纸",
                "amount": "99.5",
            },
        ],
    }
    data.update(overrides)
    return data


def pdf_text(pdf: bytes) -> str:
    """Text as a reader would copy it out of the PDF (poppler's pdftotext when installed)."""
    if shutil.which("pdftotext"):
        return subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode("utf-8")
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def new_claim(api):  # type: ignore[no-untyped-def]
    """``new_claim(**overrides)`` → id of a fresh draft expense claim by sales1."""

    def make(**overrides):  # type: ignore[no-untyped-def]
        response = api("sales1").post(
            "/api/v1/forms/expense-claim/submissions", json={"data": claim_data(**overrides)}
        )
        assert response.status_code == 201, response.json
        return response.json["id"]

    return make
