"""Without a secret nothing posted back by the tracker can be told from a forgery: the check
refuses it whatever its signature, and a blank secret in the environment counts as none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.problems.app import ProblemsSettings
from services.problems.webhooks import NotConfigured, signature_header, verify

BODY = b'{"report_id": "DR-000001", "update": {"status": "fixed", "fixed_in": "9.9"}}'
T = 1_700_000_000
NOW = datetime.fromtimestamp(T, UTC)


@pytest.mark.parametrize("header", [signature_header("", T, BODY), None, "t=1,v1=00"])
def test_with_no_secret_every_signature_is_refused_even_one_made_with_the_empty_key(
    header: str | None,
) -> None:
    with pytest.raises(NotConfigured):
        verify("", header, BODY, NOW)


@pytest.mark.parametrize(
    ("given", "kept"), [("", ""), ("   ", ""), ("\t\n", ""), ("s3cr3t", "s3cr3t")]
)
def test_a_blank_tracker_secret_is_no_secret(
    monkeypatch: pytest.MonkeyPatch, given: str, kept: str
) -> None:
    monkeypatch.setenv("HELPDESK_TRACKER_WEBHOOK_SECRET", given)
    assert ProblemsSettings().tracker_secret == kept


def test_an_unset_tracker_secret_is_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPDESK_TRACKER_WEBHOOK_SECRET", raising=False)
    assert ProblemsSettings().tracker_secret == ""
