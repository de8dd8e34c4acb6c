"""Events reporting publishes on helpdesk.reporting.v1."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from .envelope import Event, EventData


class ReportGeneratedData(EventData):
    report_id: str = Field(description="Id of the stored report")
    name: str = Field(description="Report name from the catalogue")
    period_from: datetime = Field(description="Start of the period covered")
    period_to: datetime = Field(description="End of the period covered")


class ReportGenerated(Event[ReportGeneratedData]):
    type: Literal["report.generated"] = "report.generated"


REPORTING_EVENTS: tuple[type[Event[Any]], ...] = (ReportGenerated,)
