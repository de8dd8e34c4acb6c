"""Problem management's pure rules: the problem life cycle and what each step needs, change
approval, deficiency report updates, release audiences, and knowledge-base ranking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.intake.domain import Asset, Contract, Site, covers
from services.problems.domain import changes, notices
from services.problems.domain import knowledge as kb
from services.problems.domain import problems as rules
from services.problems.domain import reports as drs
from services.problems.domain.changes import ChangeRequest, DecisionRequest, OutcomeRequest, Risk
from services.problems.domain.knowledge import KnowledgeKind, KnowledgeRequest
from services.problems.domain.problems import ProblemEdit, ProblemRequest, ProblemStatus
from services.problems.domain.reports import ReportRequest, ReportStatus, ReportUpdate, Severity
from shared.errors import Conflict, FieldInvalid, Forbidden, InvalidTransition
from shared.events.common import ServiceLevel

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
S = ProblemStatus


def problem(**fields: object) -> rules.Problem:
    opened = rules.open_problem(
        "PRB-000001",
        ProblemRequest(title="VPN drops", ticket_ids=["t-1", "t-1", "t-2"]),
        "sue",
        NOW,
    )
    return opened.model_copy(update=fields)


def test_a_problem_opens_with_its_incidents_once_and_a_history_line() -> None:
    opened = problem()
    assert (opened.status, opened.ticket_ids) == (S.OPEN, ["t-1", "t-2"])
    assert [h.what for h in opened.history] == ["opened"]


@pytest.mark.parametrize(
    ("target", "missing"),
    [
        (S.ROOT_CAUSE_KNOWN, "root_cause"),
        (S.KNOWN_ERROR, "root_cause"),
        (S.RESOLVED, "fix"),
    ],
)
def test_a_step_forward_needs_what_it_records(target: ProblemStatus, missing: str) -> None:
    with pytest.raises(FieldInvalid) as refused:
        rules.edit(problem(), ProblemEdit(status=target), "sue", NOW)
    assert refused.value.field == missing


def test_a_known_error_needs_a_workaround_and_closing_needs_the_lessons_learned() -> None:
    known = ProblemEdit(root_cause="MTU too large", status=S.KNOWN_ERROR)
    with pytest.raises(FieldInvalid, match="workaround"):
        rules.edit(problem(), known, "sue", NOW)
    moved = rules.edit(
        problem(),
        ProblemEdit(root_cause="MTU", workaround="MTU 1400", status=S.KNOWN_ERROR),
        "s",
        NOW,
    )
    assert moved.status is S.KNOWN_ERROR
    fixed = rules.edit(moved, ProblemEdit(fix="client 4.3", status=S.RESOLVED), "s", NOW)
    assert fixed.resolved_at == NOW
    with pytest.raises(FieldInvalid, match="lessons"):
        rules.edit(fixed, ProblemEdit(status=S.CLOSED), "s", NOW)
    closed = rules.edit(
        fixed, ProblemEdit(lessons_learned="test on sleep", status=S.CLOSED), "s", NOW
    )
    assert (closed.status, closed.closed_at) == (S.CLOSED, NOW)
    with pytest.raises(Conflict):
        rules.link(closed, "t-9", "s", NOW)
    with pytest.raises(Conflict):
        rules.edit(closed, ProblemEdit(title="again"), "s", NOW)


def test_no_step_backwards_except_a_resolved_problem_coming_back() -> None:
    known = problem(status=S.KNOWN_ERROR, root_cause="x", workaround="y")
    with pytest.raises(InvalidTransition):
        rules.move(known, S.OPEN, "s", NOW)
    back = rules.move(problem(status=S.RESOLVED, resolved_at=NOW), S.OPEN, "s", NOW)
    assert (back.status, back.resolved_at) == (S.OPEN, None)


def test_linking_twice_or_unlinking_what_is_not_linked_changes_nothing() -> None:
    linked = rules.link(problem(), "t-3", "s", NOW)
    assert linked is not None and linked.ticket_ids == ["t-1", "t-2", "t-3"]
    assert rules.link(linked, "t-3", "s", NOW) is None
    unlinked = rules.unlink(linked, "t-1", "s", NOW)
    assert unlinked is not None and unlinked.ticket_ids == ["t-2", "t-3"]
    assert rules.unlink(unlinked, "t-1", "s", NOW) is None


def test_a_completed_change_resolves_its_problem_once() -> None:
    resolved = rules.resolved_by_change(problem(), "CHG-000001", "s", NOW)
    assert resolved is not None
    assert (resolved.status, resolved.change_ids, resolved.fix) == (
        S.RESOLVED,
        ["CHG-000001"],
        "change CHG-000001 completed",
    )
    assert rules.resolved_by_change(resolved, "CHG-000001", "s", NOW) is None


def change_request(**fields: object) -> ChangeRequest:
    body = {"title": "Replace router", "risk": "low", "approvers": ["cab@x", "ops@x"], **fields}
    return ChangeRequest.model_validate(body)


def test_a_change_is_approved_by_every_approver_and_rejected_by_any() -> None:
    change = changes.request("CHG-000001", change_request(), "ann", NOW)
    once = changes.decide(change, "cab@x", DecisionRequest(approved=True), NOW)
    assert once.status is changes.ChangeStatus.REQUESTED
    twice = changes.decide(once, "ops@x", DecisionRequest(approved=True), NOW)
    assert twice.status is changes.ChangeStatus.APPROVED
    rejected = changes.decide(change, "ops@x", DecisionRequest(approved=False, comment="no"), NOW)
    assert rejected.status is changes.ChangeStatus.REJECTED
    with pytest.raises(Forbidden):
        changes.decide(change, "eve@x", DecisionRequest(approved=True), NOW)
    with pytest.raises(Conflict):
        changes.decide(once, "cab@x", DecisionRequest(approved=True), NOW)
    with pytest.raises(InvalidTransition):
        changes.finish(change, OutcomeRequest(outcome="done"), "ann", NOW)
    done = changes.finish(twice, OutcomeRequest(outcome="swapped", rolled_back=True), "ann", NOW)
    assert (done.status, done.outcome) == (changes.ChangeStatus.ROLLED_BACK, "swapped")


def test_a_high_risk_change_needs_a_window_that_ends_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="window"):
        change_request(risk=Risk.HIGH)
    window = {
        "starts_at": NOW,
        "ends_at": NOW - timedelta(hours=1),
        "estimated_downtime_minutes": 5,
    }
    with pytest.raises(ValidationError, match="end after"):
        change_request(risk=Risk.HIGH, window=window)


def report() -> drs.DeficiencyReport:
    request = ReportRequest(
        title="Crash on export",
        severity=Severity.HIGH,
        affected_release="7.3",
        reproduction="1. export 2. crash",
        ticket_ids=["t-1"],
    )
    return drs.elevate("DR-000001", request, ["acme"], "sue", NOW)


def test_a_deficiency_report_comes_from_a_ticket_or_a_problem() -> None:
    with pytest.raises(ValidationError, match="ticket or a problem"):
        ReportRequest(title="x", severity=Severity.LOW, affected_release="1", reproduction="r")


def test_a_tracker_update_moves_the_report_and_a_repeated_one_changes_nothing() -> None:
    update = ReportUpdate(status=ReportStatus.SUBMITTED, tracker_id="BUG-7")
    moved = drs.updated(report(), update, "tracker", NOW)
    assert moved is not None and (moved.status, moved.tracker_id) == (
        ReportStatus.SUBMITTED,
        "BUG-7",
    )
    assert drs.updated(moved, update, "tracker", NOW) is None
    with pytest.raises(InvalidTransition):
        drs.updated(moved, ReportUpdate(status=ReportStatus.RELEASED), "tracker", NOW)


def test_a_release_reaches_the_tickets_of_its_reports_and_their_problems_once() -> None:
    first = report().model_copy(update={"problem_id": "PRB-000001", "organization_ids": ["acme"]})
    second = report().model_copy(update={"ticket_ids": ["t-2"], "organization_ids": ["acme", "b"]})
    tickets, organizations = notices.affected([first, second], {"PRB-000001": ["t-1", "t-5"]})
    assert (tickets, organizations) == (["t-1", "t-5", "t-2"], ["acme", "b"])
    release = notices.Release(version="7.4", released_on=date(2026, 12, 1))
    published = notices.published(release, tickets, organizations, NOW)
    with pytest.raises(Conflict):
        notices.published(published, tickets, organizations, NOW)


def test_a_notice_names_its_audience_and_a_maintenance_notice_its_window() -> None:
    with pytest.raises(ValidationError, match="audience"):
        notices.Audience()
    with pytest.raises(ValidationError, match="starts_at"):
        notices.AdvisoryRequest(
            title="Upgrade",
            body="b",
            kind=notices.NoticeKind.MAINTENANCE,
            audience={"everyone": True},
        )
    later = notices.AdvisoryRequest(
        title="t", body="b", audience={"products": ["Billing 7.3"]}, publish_at=NOW
    )
    advisory = notices.scheduled("ADV-000001", later, "sue", NOW - timedelta(hours=1))
    assert not notices.due(advisory, NOW - timedelta(minutes=1)) and notices.due(advisory, NOW)
    assert notices.withdrawn(advisory).status == "withdrawn"
    with pytest.raises(Conflict):
        notices.withdrawn(advisory.model_copy(update={"status": "published"}))


def test_a_contract_covers_a_site_by_id_or_name_and_a_product_with_or_without_version() -> None:
    contract = Contract(
        id="acme-1",
        organization_id="acme",
        number="C-1",
        service_level=ServiceLevel.GOLD,
        valid_from=date(2026, 1, 1),
        valid_to=date(2027, 1, 1),
        sites=[Site(id="hq", name="Head office")],
        assets=[Asset(id="srv-1", name="Billing server", product="Billing 7.3", site_id="hq")],
    )
    assert covers(contract, ["HQ"], []) and covers(contract, ["head office"], [])
    assert covers(contract, [], ["Billing"]) and covers(contract, [], ["billing 7.3"])
    assert not covers(contract, [], ["Billing 7.4"]) and not covers(contract, ["plant-b"], ["CRM"])


def item(item_id: str, title: str, symptoms: str, workaround: str = "w") -> kb.Knowledge:
    request = KnowledgeRequest(title=title, symptoms=symptoms, workaround=workaround)
    return kb.create(item_id, KnowledgeKind.KNOWN_ERROR, request, NOW)


def test_search_ranks_the_closest_first_folding_case_accents_and_word_endings() -> None:
    items = [
        item("KE-1", "Printer offline after update", "Printers show offline in the spooler"),
        item("KE-2", "VPN drops after sleep", "The VPN client disconnects when the laptop sleeps"),
        item("KE-3", "Drukarka nie drukuje", "Drukarki w biurze są offline"),
    ]
    hits = kb.search(items, "printer OFFLINE spooler", 5)
    assert [h.item.id for h in hits][:1] == ["KE-1"] and hits[0].score == 1.0
    assert [h.item.id for h in kb.search(items, "drukarki", 5)] == ["KE-3"]
    assert kb.search(items, "vpn sleeping", 5)[0].item.id == "KE-2"
    assert kb.search(items, "kubernetes", 5) == []
    retired = [i.model_copy(update={"status": "retired"}) for i in items]
    assert kb.search(retired, "printer", 5) == []


def test_a_known_errors_coverage_says_how_much_of_it_a_ticket_matches() -> None:
    vpn = item("KE-2", "VPN drops after sleep", "VPN client disconnects when laptop sleeps")
    full = kb.search([vpn], "VPN drops after sleep: the client disconnects when laptop sleeps", 1)
    part = kb.search([vpn], "my laptop is slow", 1)
    assert full[0].coverage > 0.8 and part[0].coverage < 0.3
