"""Recurrence: k similar incidents within the window make one problem candidate, named once;
paraphrases, typos and reports in other languages sharing the technical tokens match, noise and
other matters of the same product do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.problems.domain.features import IncidentText, features, fold, text_features
from services.problems.domain.recurrence import (
    THRESHOLD,
    RecurrenceIndex,
    candidate_id,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VPN = "GlobalConnect VPN"
VPN_SLEEP = [
    "VPN drops after sleep. GlobalConnect 4.2 loses the connection every time my laptop wakes"
    " from sleep.",
    "Lost VPN connection when the laptop wakes up; GlobalConnect shows connected but nothing"
    " loads after sleep.",
    "VPN disconects after slep. GlobalConect 4.2 looses the conection evry time the laptop"
    " wakes from sleep.",
    "Since GlobalConnect 4.2 the VPN connection is lost whenever the laptop has been asleep,"
    " I reconnect several times a day.",
]
VPN_OTHER_MATTERS = [
    "Please install GlobalConnect VPN on the laptop LT-4411 for our new colleague Anna.",
    "Split tunnelling: can we exclude Zoom traffic from the GlobalConnect VPN tunnel?",
]
NOISE = [
    "Please order a second monitor for Anna, who starts on Monday.",
    "The air conditioning in meeting room Saturn is far too cold.",
    "How do I add the new VAT rate in Billing 7.3?",
    "I lost my access badge somewhere in the parking garage.",
    "Request a licence for Visio, approved by my manager.",
    "The projector in room Jupiter shows no picture over HDMI.",
    "Please update my mobile number in the company directory.",
    "How can I send a 200 MB video to an external agency?",
    "Our brand font Gotham is missing on my new computer.",
    "My keyboard types Z instead of Y, the layout seems to be German.",
    "Where do I scan my travel receipts for the expense claim?",
    "Please create a mailing list for the Orion steering group.",
    "Jak mogę dostać kartę na parking podziemny?",
    "Hur ansöker jag om parkeringskort till garaget?",
    "Где найти материалы обучения по охране труда?",
]
BILLING_E1021 = [
    "Invoice PDF export fails. When I click Export to PDF in Billing 7.3 I get error E1021 and"
    " no file is created.",
    "Błąd E1021 przy eksporcie faktury. Przy eksporcie faktury do PDF w Billing 7.3 pojawia"
    " się błąd E1021.",
    "Ошибка E1021 при экспорте счёта в PDF в Billing 7.3, файл не создаётся.",
]


def incident(
    ticket_id: str,
    text: str,
    hours: float = 0.0,
    product: str | None = None,
    version: str | None = None,
    org: str = "org-northwind",
) -> IncidentText:
    return IncidentText(ticket_id, text, org, None, product, version, T0 + timedelta(hours=hours))


def vpn(n: int, hours: float, ticket_id: str | None = None) -> IncidentText:
    return incident(ticket_id or f"vpn-{n}", VPN_SLEEP[n], hours, VPN, "4.2")


def test_three_similar_incidents_within_the_window_make_one_candidate_naming_them() -> None:
    index = RecurrenceIndex(k=3, window=timedelta(days=7))
    assert index.add(vpn(0, 0)) is None
    assert index.add(vpn(1, 30)) is None
    found = index.add(vpn(2, 60))
    assert found is not None
    assert found.ticket_ids == ["vpn-0", "vpn-1", "vpn-2"]  # oldest first
    assert found.score >= THRESHOLD
    assert "GlobalConnect VPN 4.2 (3 of 3)" in found.reason
    assert "sleep" in found.reason


def test_two_similar_incidents_are_not_a_candidate() -> None:
    index = RecurrenceIndex(k=3)
    assert index.add(vpn(0, 0)) is None
    assert index.add(vpn(2, 1)) is None
    [(ticket_id, score)] = index.similar(vpn(2, 1), limit=5)
    assert ticket_id == "vpn-0" and score >= THRESHOLD  # alike, but only two


def test_the_same_three_spread_over_more_than_the_window_are_not_a_candidate() -> None:
    index = RecurrenceIndex(k=3, window=timedelta(days=7))
    assert index.add(vpn(0, 0)) is None
    assert index.add(vpn(1, 24 * 4)) is None
    assert index.add(vpn(2, 24 * 8)) is None
    assert len(index) == 2  # the first was evicted: older than the window


def test_a_fourth_similar_incident_joins_the_candidate_instead_of_making_another() -> None:
    index = RecurrenceIndex(k=3)
    for n in range(3):
        last = index.add(vpn(n, n))
    assert last is not None
    fourth = vpn(3, 5)
    assert index.joins(fourth) == last.candidate_id  # before it is added: it resembles it
    assert index.add(fourth) is None
    more = [index.add(vpn(n, 10 + n, f"again-{n}")) for n in range(4)]
    assert more == [None] * 4
    assert index.joins(fourth) == last.candidate_id
    assert {index.joins(vpn(n, 10 + n, f"again-{n}")) for n in range(4)} == {last.candidate_id}


def test_a_recurrence_after_the_window_is_announced_again() -> None:
    index = RecurrenceIndex(k=3, window=timedelta(days=7))
    first = [index.add(vpn(n, n)) for n in range(3)][-1]
    later = [index.add(vpn(n, 24 * 10 + n, f"later-{n}")) for n in range(3)][-1]
    assert first is not None and later is not None
    assert later.ticket_ids == ["later-0", "later-1", "later-2"]
    assert later.candidate_id != first.candidate_id


def test_unrelated_incidents_do_not_cluster() -> None:
    index = RecurrenceIndex(k=3)
    found = [index.add(incident(f"n-{i}", text, i)) for i, text in enumerate(NOISE)]
    assert found == [None] * len(NOISE)
    assert all(index.joins(incident(f"n-{i}", t)) is None for i, t in enumerate(NOISE))


def test_noise_around_a_recurring_fault_stays_out_of_its_candidate() -> None:
    index = RecurrenceIndex(k=3)
    stream = [incident(f"n-{i}", text, i) for i, text in enumerate(NOISE)]
    stream[2:2] = [vpn(0, 2.5)]
    stream[7:7] = [vpn(1, 7.5)]
    stream[12:12] = [vpn(2, 12.5)]
    found = [c for c in map(index.add, stream) if c is not None]
    assert [c.ticket_ids for c in found] == [["vpn-0", "vpn-1", "vpn-2"]]


def test_other_matters_of_the_same_product_do_not_complete_a_candidate() -> None:
    index = RecurrenceIndex(k=3)
    assert index.add(vpn(0, 0)) is None
    for i, text in enumerate(VPN_OTHER_MATTERS):
        assert index.add(incident(f"other-{i}", text, 1 + i, VPN, "4.2")) is None
    found = index.add(vpn(1, 4))
    assert found is None or "other-0" not in found.ticket_ids
    found = index.add(vpn(2, 5))
    assert found is not None and found.ticket_ids == ["vpn-0", "vpn-1", "vpn-2"]


def test_paraphrases_and_typos_match_better_than_another_matter_of_the_product() -> None:
    index = RecurrenceIndex()
    index.add(vpn(0, 0))
    index.add(incident("other", VPN_OTHER_MATTERS[0], 1, VPN, "4.2"))
    for n in (1, 2, 3):  # a paraphrase, the same with typos, another paraphrase
        best, score = index.similar(vpn(n, 2), limit=2)[0]
        assert best == "vpn-0" and score >= THRESHOLD, n


def test_typos_in_every_word_still_match_through_character_grams() -> None:
    index = RecurrenceIndex()
    index.add(vpn(0, 0))
    typed = "Globalconect VNP dropps aftr slep, loosing the conection evrytime the lapotp wakes"
    [(best, score)] = index.similar(incident("typed", typed + " form slepe.", 1, VPN, "4.2"), 1)
    assert best == "vpn-0" and score >= THRESHOLD


def test_the_product_and_version_weigh_in() -> None:
    index = RecurrenceIndex()
    index.add(vpn(0, 0))

    def score(product: str | None, version: str | None) -> float:
        found = index.similar(incident("q", VPN_SLEEP[1], 1, product, version), 1)
        return found[0][1] if found else 0.0

    same, older, unknown, other = (
        score(VPN, "4.2"), score(VPN, "4.1"), score(None, None), score("Billing", "4.2")
    )  # fmt: skip
    assert same > older > unknown > other


def test_reports_in_other_languages_match_through_code_product_and_version() -> None:
    index = RecurrenceIndex(k=3)
    index.add(incident("vat", NOISE[2], 0, "Billing", "7.3"))
    found = [
        index.add(incident(f"b-{i}", text, 1 + i, "Billing", "7.3", org=f"org-{i}"))
        for i, text in enumerate(BILLING_E1021)
    ]
    assert found[:2] == [None, None]
    assert found[2] is not None and found[2].ticket_ids == ["b-0", "b-1", "b-2"]
    assert "e1021" in found[2].reason and "from 3 organisations" in found[2].reason


def test_adding_a_ticket_id_again_changes_nothing() -> None:
    index = RecurrenceIndex(k=3)
    assert index.add(vpn(0, 0)) is None
    assert index.add(vpn(1, 1)) is None
    assert index.add(vpn(2, 2, "vpn-1")) is None  # same id: not a third incident
    assert len(index) == 2
    found = index.add(vpn(2, 3))
    assert found is not None and found.ticket_ids == ["vpn-0", "vpn-1", "vpn-2"]
    assert index.add(vpn(2, 3)) is None


def test_a_rebuild_after_a_restart_announces_nothing_again() -> None:
    before = RecurrenceIndex(k=3)
    announced = [before.add(vpn(n, n)) for n in range(3)][-1]
    assert announced is not None
    after = RecurrenceIndex(k=3)
    assert after.mark_announced(announced.ticket_ids) == announced.candidate_id
    replayed = [after.add(vpn(n, n)) for n in range(3)]
    assert replayed == [None, None, None]
    assert after.add(vpn(3, 4)) is None
    assert after.joins(vpn(3, 4)) == announced.candidate_id


def test_marking_after_the_replay_also_keeps_members_from_a_new_candidate() -> None:
    index = RecurrenceIndex(k=3)
    index.add(vpn(0, 0))
    index.add(vpn(1, 1))
    cid = index.mark_announced(["vpn-0", "vpn-1", "vpn-gone"])
    assert index.add(vpn(2, 2)) is None  # joins the marked candidate
    assert index.joins(vpn(2, 2)) == cid


def test_incidents_assigned_to_a_candidate_named_elsewhere_are_not_named_again() -> None:
    index = RecurrenceIndex(k=3)
    index.assign(["vpn-0"], "pc-elsewhere")  # before it is indexed, as a sync does
    index.add(vpn(0, 0))
    index.add(vpn(1, 1))
    index.assign(["vpn-1"], "pc-elsewhere")  # after it is indexed
    assert index.add(vpn(2, 2)) is None  # joins the candidate instead of naming a new one
    assert [index.joins(vpn(n, n)) for n in range(3)] == ["pc-elsewhere"] * 3


def test_candidate_ids_are_derived_from_the_members_only() -> None:
    one, two = RecurrenceIndex(k=3), RecurrenceIndex(k=3, threshold=THRESHOLD * 0.9)
    first = [one.add(vpn(n, n)) for n in range(3)][-1]
    second = [two.add(vpn(n, 100 + n)) for n in range(3)][-1]
    assert first is not None and second is not None
    assert first.candidate_id == second.candidate_id == candidate_id(["vpn-2", "vpn-0", "vpn-1"])
    assert candidate_id(["vpn-0", "vpn-1"]) != first.candidate_id
    assert first.candidate_id.startswith("pc-")


def test_similar_ranks_the_closest_first() -> None:
    index = RecurrenceIndex()
    index.add(vpn(0, 0))  # the same wording as the query, with typos
    index.add(vpn(1, 1))  # a paraphrase
    index.add(incident("other", VPN_OTHER_MATTERS[1], 2, VPN, "4.2"))
    for i, text in enumerate(NOISE):
        index.add(incident(f"n-{i}", text, 3 + i))
    ranked = index.similar(vpn(2, 30, "query"), limit=3)
    assert [t for t, _ in ranked][:2] == ["vpn-0", "vpn-1"]
    assert ranked[0][1] > ranked[1][1] > (ranked[2][1] if len(ranked) > 2 else 0.0)
    assert len(index.similar(vpn(2, 30, "query"), limit=1)) == 1


def test_the_index_keeps_only_the_window() -> None:
    index = RecurrenceIndex(window=timedelta(days=7))
    for day in range(60):
        index.add(incident(f"n-{day}", NOISE[day % len(NOISE)], 24 * day))
    assert len(index) == 8  # days 52..59
    assert index.add(incident("late", NOISE[0], 24 * 40)) is None
    assert len(index) == 8  # older than the window: ignored


def test_a_naive_time_is_refused() -> None:
    naive = IncidentText("n", "text", None, None, None, None, datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="tz-aware"):
        RecurrenceIndex().add(naive)


def test_text_is_folded_transliterated_and_split_into_words_grams_and_codes() -> None:
    assert fold("Łódź Ærø Ёлка café") == "lodz aero elka cafe"
    english = text_features("Certificate expired, NET::ERR_CERT_DATE_INVALID on portal.corp.local")
    russian = text_features("Истёк сертификат, NET::ERR_CERT_DATE_INVALID на portal.corp.local")
    assert {"c|err_cert_date_invalid", "c|portal.corp.local"} <= english.keys() & russian.keys()
    grams = {f for f in english.keys() & russian.keys() if f.startswith("g|")}
    assert len(grams) >= 6  # certificate / sertifikat share their stem
    assert "w|the" not in text_features("the printer") and "w|printer" in text_features(
        "the printer"
    )
    vector = features(incident("x", "E1021 again", product="Billing", version="7.3.2"))
    assert {"c|e1021", "c|1021", "p|billing", "v|billing|7", "v|billing|7.3"} <= vector.keys()
    assert "v|billing|7.3.2" in vector
