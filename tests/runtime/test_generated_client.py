"""An integrator's story: a client generated from /api/v1/openapi.json by a standard generator
(openapi-python-client) creates, submits and approves a claim and downloads its PDF."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


def _generate(live_server: str, folder: Path):  # type: ignore[no-untyped-def]
    document = folder / "openapi.json"
    document.write_bytes(httpx.get(f"{live_server}/api/v1/openapi.json").content)
    settings = folder / "generator.json"
    settings.write_text('{"post_hooks": []}')  # no formatter run over the generated code
    subprocess.run(  # noqa: S603 - our own virtualenv's generator on our own document
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--config",
            str(settings),
            "--output-path",
            str(folder / "quire_client"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("quire_client")
    finally:
        sys.path.remove(str(folder))


@pytest.mark.slow
def test_a_generated_client_creates_submits_approves_and_prints_a_claim(live_server, tmp_path):
    client_package = _generate(live_server, tmp_path)
    from quire_client import AuthenticatedClient, Client  # type: ignore[import-not-found]
    from quire_client.api.approvals import (  # type: ignore[import-not-found]
        submission_action,
        submit_submission,
    )
    from quire_client.api.auth import issue_token  # type: ignore[import-not-found]
    from quire_client.api.print_copies import submission_pdf  # type: ignore[import-not-found]
    from quire_client.api.submissions import (  # type: ignore[import-not-found]
        create_submission,
        get_submission,
    )
    from quire_client.models import (  # type: ignore[import-not-found]
        ActionRequest,
        SubmissionCreate,
        SubmissionCreateData,
        SubmitRequest,
        TokenRequest,
    )

    assert client_package.__name__ == "quire_client"

    def signed_in(username: str) -> AuthenticatedClient:
        token = issue_token.sync(
            client=Client(base_url=live_server),
            body=TokenRequest(username=username, password=PASSWORD, name="generated client"),
        )
        return AuthenticatedClient(base_url=live_server, token=token.token)

    claimant = signed_in("sales1")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    created = create_submission.sync_detailed(
        client=claimant,
        key="expense-claim",
        body=SubmissionCreate(
            data=SubmissionCreateData.from_dict(
                {
                    "payee_name": "Sales One",
                    "bank_account": "6222 0210 0000 1234",
                    "lines": [
                        {
                            "date": yesterday,
                            "category": "travel",
                            "description": "Client visit, Hangzhou",
                            "amount": "25000.00",
                            "invoice": "FP-GEN-0001",
                        }
                    ],
                }
            )
        ),
    )
    assert created.status_code == 201, created.content
    claim = created.parsed
    assert claim.status == "draft" and claim.form == "expense-claim"

    submitted = submit_submission.sync(
        client=claimant, submission_id=claim.id, body=SubmitRequest(version=claim.version)
    )
    assert submitted.status == "in_review", submitted

    for approver in ("salesmgr", "finrev"):
        current = get_submission.sync(client=signed_in(approver), submission_id=claim.id)
        decided = submission_action.sync(
            client=signed_in(approver),
            submission_id=claim.id,
            body=ActionRequest(action="approve", version=current.version, comment="OK"),
        )
        assert decided is not None and decided.id == claim.id, approver
    assert decided.status == "approved"

    pdf = submission_pdf.sync_detailed(client=signed_in("finrev"), submission_id=claim.id)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
