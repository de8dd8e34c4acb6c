"""Scheduled reports on the real Kafka, FerretDB and an SMTP server: a daily schedule makes the
report of the day just ended once, stores it with its chart, announces report.generated and
mails it to the subscribers with the CSV and the PNG chart attached; replicas racing make and
mail it once; a mail whose attempt a crash interrupted is sent after the lease, a refused one
is tried again after the backoff, then given up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.reporting.app import ReportingSettings, create_app
from services.reporting.scheduled import generate_due, make_due
from services.reporting.store import GENERATED
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
            ).json()["items"]
            return found or None

        (report,) = await wait_for(made, what="the day's report")
        await wait_for(lambda: _mailed(mail), what="the report mailed")
        chart = await reporting.get(
            f"/v1/generated-reports/{report['id']}/chart.png", headers=auth()
        )
        csv = await reporting.get(
            f"/v1/generated-reports/{report['id']}/report.csv", headers=auth()
        )
        again = (await reporting.get("/v1/generated-reports", headers=auth())).json()["items"]
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


SUBSCRIBERS = ["ops.lead@helpdesk.example", "cio@helpdesk.example"]
QUIET = "3600"  # no round on its own: the test runs the rounds


async def _schedule(reporting: httpx.AsyncClient, subscribers: list[str]) -> None:
    body = {"report": "trouble-calls", "every": "daily", "subscribers": subscribers}
    schedule = await reporting.post("/v1/report-schedules", json=body, headers=LEAD)
    assert schedule.status_code == 201, schedule.text


def _set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


async def test_two_replicas_of_the_schedule_round_mail_one_report_once(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    mail, port = mail_sink
    _set_env(monkeypatch, isolated.env(HELPDESK_SMTP_PORT=str(port), **_quiet()))
    clock = FixedClock(datetime(2026, 11, 2, 23, 0, tzinfo=UTC))
    one, two = create_app(ReportingSettings(), clock), create_app(ReportingSettings(), clock)
    async with in_process(one) as reporting, in_process(two):
        await _schedule(reporting, SUBSCRIBERS)
        clock.advance(NEXT_DAY - clock.now())
        made = [0, 0]
        for _ in range(3):  # rounds of both replicas at once
            rounds = await asyncio.gather(
                generate_due(one.state.deps), generate_due(two.state.deps)
            )
            made = [m + r for m, r in zip(made, rounds, strict=True)]
        listed = (await reporting.get("/v1/generated-reports", headers=auth())).json()["items"]
        pending = await one.state.deps.mail_queue.pending()
    assert sorted(made) == [0, 1] and len(listed) == 1 and pending == 0
    recipients = [
        str(message_from_bytes(raw, policy=policy.default)["To"]) for raw in mail.received
    ]
    assert sorted(recipients) == sorted(SUBSCRIBERS)  # each subscriber once
    async with TopicReader(isolated.infra.kafka, isolated.topic("reporting")) as reader:
        await reader.read_until(lambda rs: any(b"report.generated" in r.value for r in rs))
    assert [e.data.report_id for e in reader.distinct_events(b"report.generated")] == [
        listed[0]["id"]
    ]


async def test_a_mailing_a_crash_interrupted_is_retried_after_its_lease(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    mail, port = mail_sink
    _set_env(monkeypatch, isolated.env(HELPDESK_SMTP_PORT=str(port), **_quiet()))
    clock = FixedClock(datetime(2026, 11, 2, 23, 0, tzinfo=UTC))
    app = create_app(ReportingSettings(), clock)
    async with in_process(app) as reporting:
        deps = app.state.deps
        await _schedule(reporting, SUBSCRIBERS[:1])
        clock.advance(NEXT_DAY - clock.now())
        assert await make_due(deps) == 1
        taken = await deps.mail_queue.take(clock.now())  # a replica takes it, then dies
        assert taken is not None and taken.number == 1
        await generate_due(deps)
        unsent = len(mail.received)
        clock.advance(deps.mail_queue.policy.lease)  # the dead replica's lease runs out
        await generate_due(deps)
        await generate_due(deps)
        (report,) = (await reporting.get("/v1/generated-reports", headers=auth())).json()["items"]
        settled = await _settled(isolated, report["id"])
        pending = await deps.mail_queue.pending()
    assert unsent == 0 and len(mail.received) == 1 and pending == 0
    assert [(m["to"], m["outcome"], m["attempts"]) for m in settled] == [
        (SUBSCRIBERS[0], "sent", 2)
    ]


async def test_a_refused_mail_is_retried_after_its_backoff_then_given_up(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, mail_sink: tuple[MailSink, int]
) -> None:
    mail, port = mail_sink
    mail.refuse = True
    env = isolated.env(HELPDESK_SMTP_PORT=str(port), HELPDESK_REPORT_MAIL_ATTEMPTS="2", **_quiet())
    _set_env(monkeypatch, env)
    clock = FixedClock(datetime(2026, 11, 2, 23, 0, tzinfo=UTC))
    app = create_app(ReportingSettings(), clock)
    async with in_process(app) as reporting:
        deps = app.state.deps
        await _schedule(reporting, SUBSCRIBERS[:1])
        clock.advance(NEXT_DAY - clock.now())
        await generate_due(deps)  # refused: tried again after the backoff
        clock.advance(timedelta(seconds=59))
        await generate_due(deps)  # not yet due
        waiting = await deps.mail_queue.pending()
        clock.advance(timedelta(seconds=1))
        await generate_due(deps)  # refused again: the last try
        (report,) = (await reporting.get("/v1/generated-reports", headers=auth())).json()["items"]
        settled = await _settled(isolated, report["id"])
        pending = await deps.mail_queue.pending()
    assert (waiting, pending, mail.received) == (1, 0, [])
    ((to, outcome, attempts, error),) = [
        (m["to"], m["outcome"], m["attempts"], m["error"]) for m in settled
    ]
    assert (to, outcome, attempts) == (SUBSCRIBERS[0], "failed", 2) and "451" in error


def _quiet() -> dict[str, str]:
    return {"HELPDESK_REPORT_SCHEDULE_SECONDS": QUIET}


async def _settled(isolated: Isolation, report_id: str) -> list[dict[str, Any]]:
    """How the report's mails were settled, as the generated report keeps it."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    try:
        doc = await client[f"{isolated.db_prefix}reporting"][GENERATED].find_one({"_id": report_id})
    finally:
        await client.close()
    assert doc is not None
    mails: list[dict[str, Any]] = doc["mails"]
    return mails
