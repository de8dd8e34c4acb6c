"""Scheduled reports on the real Kafka, FerretDB and an SMTP server: a daily schedule makes the
report of the day just ended once, stores it with its chart, announces report.generated and
mails it to the subscribers with the CSV and the PNG chart attached."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest

from services.reporting.app import ReportingSettings, create_app
from shared.clock import FixedClock
from shared.smtp_sink import MailSink
from tests.helpers import Isolation, TopicReader, auth, in_process, wait_for
from tests.integration.test_reporting_facts import history
from tests.integration.test_triage_work import send

pytestmark = pytest.mark.integration
LEAD = auth(["supervisor"], sub="sue.lead")
NEXT_DAY = datetime(2026, 11, 3, 0, 5, tzinfo=UTC)  # the events of history() are on 2 November


async def test_a_daily_report_is_made_once_announced_and_mailed_with_its_chart(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    mail, port = mail_sink
    env = isolated.env(HELPDESK_SMTP_PORT=str(port), HELPDESK_REPORT_SCHEDULE_SECONDS="0.2")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clock = FixedClock(datetime(2026, 11, 2, 23, 0, tzinfo=UTC))
    async with in_process(create_app(ReportingSettings(), clock)) as reporting:
        for producer, events in history().items():
            await send(isolated, producer, events)
        await wait_for(lambda: _closed(reporting), what="the day's facts")
        body = {
            "report": "trouble-calls",
            "every": "daily",
            "group_by": "channel",
            "subscribers": ["ops.lead@helpdesk.example"],
        }
        wrong = await reporting.post(
            "/v1/report-schedules", json={**body, "report": "nothing"}, headers=LEAD
        )
        by_agent = await reporting.post("/v1/report-schedules", json=body, headers=auth())
        schedule = await reporting.post("/v1/report-schedules", json=body, headers=LEAD)
        assert schedule.status_code == 201, schedule.text
        clock.advance(NEXT_DAY - clock.now())  # the day is over

        async def made() -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = (
                await reporting.get("/v1/generated-reports", headers=auth())
            ).json()
            return found or None

        (report,) = await wait_for(made, what="the day's report")
        await wait_for(lambda: _mailed(mail), what="the report mailed")
        chart = await reporting.get(
            f"/v1/generated-reports/{report['id']}/chart.png", headers=auth()
        )
        csv = await reporting.get(
            f"/v1/generated-reports/{report['id']}/report.csv", headers=auth()
        )
        again = (await reporting.get("/v1/generated-reports", headers=auth())).json()
    assert (wrong.status_code, by_agent.status_code) == (422, 403)
    assert (report["name"], report["period_from"][:10], report["period_to"][:10]) == (
        "trouble-calls",
        "2026-11-02",
        "2026-11-03",
    )
    assert report["rows"] == [{"group": "web", "opened": 1, "closed": 1, "backlog": 0}]
    assert [r["id"] for r in again] == [report["id"]]  # made once, however many rounds
    assert chart.content.startswith(b"\x89PNG") and chart.headers["content-type"] == "image/png"
    assert csv.text == "group,opened,closed,backlog\r\nweb,1,1,0\r\n"
    (raw,) = mail.received
    message = message_from_bytes(raw, policy=policy.default)
    assert str(message["To"]) == "ops.lead@helpdesk.example"
    attached = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    assert attached["trouble-calls_2026-11-02_2026-11-03.csv"] == csv.text
    assert attached["trouble-calls_2026-11-02_2026-11-03.png"].startswith(b"\x89PNG")
    async with TopicReader(isolated.infra.kafka, isolated.topic("reporting")) as reader:
        await reader.read_until(lambda rs: any(b"report.generated" in r.value for r in rs))
    (announced,) = reader.distinct_events(b"report.generated")
    assert announced.data.report_id == report["id"]


async def _closed(reporting: httpx.AsyncClient) -> bool:
    fact = (await reporting.get("/v1/facts/t-1", headers=auth())).json()
    return "closed_at" in fact


async def _mailed(mail: MailSink) -> bool:
    return bool(mail.received)
