"""Every partial update (PATCH) yields a state the full model accepts, or it is refused (422, or
409 for a rule of the life cycle): never a stored record that no longer loads. A null clears a
field only where the record allows None.

Each PATCH body is arbitrary JSON-ish data at every field of its request model: nulls, wrong
types, nested lists and objects, huge strings, and the plausible values too, so that the
updates that pass the request model reach the rule that applies them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Literal, get_args, get_origin

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from services.problems.domain import knowledge as kb
from services.problems.domain import notices
from services.problems.domain import problems as rules
from services.problems.domain import reports as drs
from services.problems.domain.knowledge import Knowledge, KnowledgeEdit, KnowledgeKind
from services.problems.domain.notices import Release, ReleaseEdit
from services.problems.domain.problems import Entry, Problem, ProblemEdit, ProblemStatus
from services.problems.domain.reports import DeficiencyReport, ReportStatus, ReportUpdate
from services.triage.domain import Agent, AgentUpdate
from services.triage.service.setup import update_agent
from shared.db import bson_dates
from shared.errors import Conflict, FieldInvalid, NotFound

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
LATER = datetime(2026, 11, 3, 9, tzinfo=UTC)
SIZES = [0, 1, 99, 100, 101, 200, 201, 300, 301, 2_001, 5_001, 20_001, 50_001, 100_001]
PLAUSIBLE = [
    "",
    "  ",
    "x",
    "7.4",
    "https://bugs.example/77",
    "ftp://bugs.example/77",
    "2026-11-20",
    *[s.value for s in ProblemStatus],
    *[s.value for s in ReportStatus],
    "published",
    "retired",
    "dev@example.org",
    "not an e-mail",
    ["operations"],
    ["a", "b"],
    [],
    {},
    0,
    1,
    3,
    4,
    -1,
    500,
    501,
    10**30,
    True,
    False,
    1.5,
]

huge = st.builds(lambda c, n: c * n, st.characters(codec="utf-8"), st.sampled_from(SIZES))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | huge
)
jsonish = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
plausible = st.sampled_from(PLAUSIBLE) | st.lists(st.text(max_size=10), max_size=3)
anything = st.one_of(st.none(), plausible, jsonish)


def fitting(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of the field's own type (null included where it is declared), mostly valid."""
    options: list[st.SearchStrategy[Any]] = []
    for arg in get_args(annotation) or (annotation,):
        if arg is type(None):
            options.append(st.none())
        elif arg is bool:
            options.append(st.booleans())
        elif arg is int:
            options.append(st.integers(-2, 600))
        elif arg is str:
            options.append(st.text(max_size=40) | st.sampled_from(PLAUSIBLE[:8]))
        elif get_origin(arg) is list:
            options.append(st.lists(st.text(max_size=20), max_size=5))
        elif get_origin(arg) is Literal:
            options.append(st.sampled_from(get_args(arg)))
        elif isinstance(arg, type) and issubclass(arg, Enum):
            options.append(st.sampled_from([e.value for e in arg]))
    return st.one_of(options) if options else anything


def bodies(edit: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """PATCH bodies: any of the request model's fields, each with a value of its type or with
    anything at all, and now and then a field the model does not have."""
    fields = st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(fitting(info.annotation), fitting(info.annotation), anything)
            for name, info in edit.model_fields.items()
        },
    )
    stranger = st.dictionaries(st.sampled_from(["revision", "id", "history"]), anything)
    return st.builds(lambda known, other: {**known, **other}, fields, st.just({}) | stranger)


@dataclass(frozen=True)
class Patchable:
    """A PATCH: its request model, the records it applies to, and the rule that applies it
    (None when the update changes nothing)."""

    edit: type[BaseModel]
    records: list[BaseModel]
    apply: Callable[[Any, Any], BaseModel | None]


def _history() -> list[Entry]:
    return [Entry(at=NOW, by="sue", what="opened")]


PROBLEMS = [
    Problem(id="PRB-1", title="VPN drops", created_at=NOW, updated_at=NOW, history=_history()),
    Problem(
        id="PRB-2",
        title="Disk full",
        status=ProblemStatus.KNOWN_ERROR,
        root_cause="logs not rotated",
        workaround="delete old logs",
        owner="dev",
        created_at=NOW,
        updated_at=NOW,
    ),
    Problem(
        id="PRB-3",
        title="Export crash",
        status=ProblemStatus.RESOLVED,
        root_cause="a comma",
        fix="7.4",
        created_at=NOW,
        updated_at=NOW,
        resolved_at=NOW,
    ),
    Problem(
        id="PRB-4",
        title="Closed",
        status=ProblemStatus.CLOSED,
        fix="7.4",
        lessons_learned="test more",
        created_at=NOW,
        updated_at=NOW,
        closed_at=NOW,
    ),
]
KNOWLEDGE = [
    Knowledge(
        id="KE-1",
        kind=KnowledgeKind.KNOWN_ERROR,
        title="Scanner offline",
        workaround="power-cycle",
        created_at=NOW,
        updated_at=NOW,
    ),
    Knowledge(
        id="KB-1",
        kind=KnowledgeKind.ARTICLE,
        title="How to pair",
        body="Hold the button",
        products=["scanner"],
        created_at=NOW,
        updated_at=NOW,
    ),
]
REPORTS = [
    DeficiencyReport(
        id="DR-1",
        title="Excel export crashes",
        severity=drs.Severity.HIGH,
        affected_release="7.3",
        reproduction="export",
        ticket_ids=["t-1"],
        created_at=NOW,
        updated_at=NOW,
    ),
    DeficiencyReport(
        id="DR-2",
        title="Slow search",
        severity=drs.Severity.LOW,
        status=ReportStatus.FIXED,
        affected_release="7.3",
        reproduction="search",
        tracker_id="BUG-1",
        tracker_url="https://bugs.example/1",
        fixed_in="7.4",
        created_at=NOW,
        updated_at=NOW,
    ),
]
RELEASES = [
    Release(version="7.4", released_on=date(2026, 11, 20), fixed_reports=["DR-1"]),
    Release(version="7.3", released_on=date(2026, 6, 1), supported=False, published_at=NOW),
]
AGENT = Agent(id="dan", name="Dan", email="dan@example.org", tier=1, queues=["operations"])

PATCHES = {
    "release": Patchable(ReleaseEdit, RELEASES, lambda r, c: notices.edited(r, c)),
    "knowledge": Patchable(KnowledgeEdit, KNOWLEDGE, lambda k, c: kb.edited(k, c, LATER)),
    "problem": Patchable(ProblemEdit, PROBLEMS, lambda p, c: rules.edit(p, c, "sue", LATER)),
    "report": Patchable(ReportUpdate, REPORTS, lambda r, c: drs.updated(r, c, "bo", LATER)),
}


def allows_none(record: BaseModel, field: str) -> bool:
    try:
        type(record).model_validate({**record.model_dump(), field: None})
    except ValidationError:
        return False
    return True


def refused_or_loads(
    record: BaseModel,
    body: dict[str, Any],
    edit: type[BaseModel],
    apply: Callable[[Any], BaseModel | None],
) -> BaseModel | None:
    """The state the update leaves (None when refused or nothing changed), after checking
    that it loads back from its stored and its JSON form. Only the request model's own
    validation may raise ValidationError (the API's 422): from the rule it would be a 500."""
    try:
        change = edit.model_validate(body)
    except ValidationError:
        event("refused by the request model")
        return None
    try:
        after = apply(change)
    except (FieldInvalid, Conflict) as exc:  # 422 naming the field / 409: nothing is stored
        event(f"refused by the rule: {type(exc).__name__}")
        return None
    event("stored" if after is not None else "nothing to change")
    if after is None:
        return None
    model = type(after)
    stored = bson_dates(after.model_dump(mode="python"))
    assert model.model_validate(stored) == after, f"{body!r} stores a record that differs"
    assert model.model_validate_json(after.model_dump_json()) == after
    return after


def check_nulls(record: BaseModel, body: dict[str, Any], after: BaseModel | None) -> None:
    for field, value in body.items():
        if value is not None or field not in type(record).model_fields:
            continue
        if not allows_none(record, field):
            assert after is None, f"null {field} was accepted: {body!r}"
        elif after is not None:
            assert getattr(after, field) is None, f"null {field} did not clear it: {body!r}"


@pytest.mark.parametrize("kind", sorted(PATCHES))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_patch_leaves_a_record_that_loads_or_is_refused(kind: str, data: st.DataObject) -> None:
    patch = PATCHES[kind]
    record = data.draw(st.sampled_from(patch.records), label="record")
    body = data.draw(bodies(patch.edit), label="body")

    after = refused_or_loads(record, body, patch.edit, lambda c: patch.apply(record, c))
    check_nulls(record, body, after)


class _Agents:
    """The agent store as update_agent sees it, keeping what it is given."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.replaced: list[Agent] = []

    async def get_agent(self, agent_id: str) -> Agent | None:
        return self.agent if agent_id == self.agent.id else None

    async def replace_agent(self, agent: Agent) -> None:
        self.replaced.append(agent)


@dataclass
class _Deps:
    agents: _Agents


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(AgentUpdate))
def test_an_agent_patch_stores_an_agent_that_loads_or_nothing(body: dict[str, Any]) -> None:
    deps = _Deps(_Agents(AGENT))

    def apply(change: Any) -> BaseModel | None:
        return asyncio.run(update_agent(AGENT.id, change, deps))

    after = refused_or_loads(AGENT, body, AgentUpdate, apply)
    check_nulls(AGENT, body, after)
    assert deps.agents.replaced == ([] if after is None else [after])
    for stored in deps.agents.replaced:
        assert Agent.model_validate(stored.model_dump()) == stored


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("release", {"supported": None}, "supported"),
        ("release", {"notes": None}, "notes"),
        ("release", {"fixed_reports": None}, "fixed_reports"),
        ("knowledge", {"title": None}, "title"),
        ("knowledge", {"symptoms": None}, "symptoms"),
        ("knowledge", {"products": None}, "products"),
        ("knowledge", {"status": None}, "status"),
        ("problem", {"title": None}, "title"),
        ("problem", {"description": None}, "description"),
        ("problem", {"status": None}, "status"),
        ("report", {"status": None}, "status"),
    ],
)
def test_a_null_on_a_field_that_must_have_a_value_is_refused_naming_it(
    kind: str, body: dict[str, Any], field: str
) -> None:
    patch = PATCHES[kind]
    with pytest.raises(FieldInvalid) as refused:
        patch.apply(patch.records[0], patch.edit.model_validate(body))
    assert refused.value.field == field


def test_a_null_on_an_optional_field_clears_it() -> None:
    known = PROBLEMS[1]
    cleared = rules.edit(known, ProblemEdit.model_validate({"owner": None}), "sue", LATER)
    assert cleared.owner is None and cleared.history[-1].what == "edited owner"
    fixed = REPORTS[1]
    untracked = drs.updated(fixed, ReportUpdate.model_validate({"tracker_url": None}), "bo", LATER)
    assert untracked is not None and untracked.tracker_url is None


def test_clearing_what_a_problem_s_status_needs_is_refused() -> None:
    with pytest.raises(FieldInvalid) as refused:
        rules.edit(PROBLEMS[1], ProblemEdit.model_validate({"root_cause": None}), "s", LATER)
    assert refused.value.field == "root_cause"
    reopened = rules.edit(
        PROBLEMS[2], ProblemEdit.model_validate({"fix": None, "status": "open"}), "s", LATER
    )
    assert (reopened.status, reopened.fix) == (ProblemStatus.OPEN, None)


def test_an_edit_may_not_leave_a_known_error_without_workaround_or_fix() -> None:
    with pytest.raises(FieldInvalid) as refused:
        kb.edited(KNOWLEDGE[0], KnowledgeEdit(workaround=""), LATER)
    assert refused.value.field == "workaround"


def test_an_agent_patch_with_a_null_is_refused_naming_the_field() -> None:
    deps = _Deps(_Agents(AGENT))
    with pytest.raises(FieldInvalid) as refused:
        asyncio.run(update_agent("dan", AgentUpdate.model_validate({"tier": None}), deps))
    assert refused.value.field == "tier" and deps.agents.replaced == []
    with pytest.raises(NotFound):
        asyncio.run(update_agent("zed", AgentUpdate(), deps))
