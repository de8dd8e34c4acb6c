"""Report schedules (pure): a report made daily, weekly or monthly for the period just ended
(UTC days; weeks from Monday; calendar months), and the chart of its main series."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # files only: no display
import matplotlib.pyplot as plt  # noqa: E402
from pydantic import ConfigDict, EmailStr, Field  # noqa: E402

from shared.strict import Trimmed

from .reports import ReportInfo, Row  # noqa: E402

Every = Literal["daily", "weekly", "monthly"]


class ScheduleRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    report: str = Field(description="A report of GET /v1/reports")
    every: Every
    group_by: str | None = None
    subscribers: list[EmailStr] = Field(default_factory=list, max_length=100)


class Schedule(ScheduleRequest):
    model_config = ConfigDict(extra="ignore")
    id: str
    created_by: str
    created_at: datetime


def last_period(every: Every, now: datetime) -> tuple[datetime, datetime]:
    """The latest whole period that has ended by `now`."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if every == "daily":
        return today - timedelta(days=1), today
    if every == "weekly":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday
    first = today.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return previous, first


def main_series(info: ReportInfo, rows: list[Row]) -> tuple[str, list[str], list[float]]:
    """The first numeric column, by group (the chart's series)."""
    for column in info.columns[1:]:
        values = [row.get(column) for row in rows]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            labels = [
                " ".join(str(row[c]) for c in ("group", "target", "fix") if c in row)
                for row in rows
            ]
            return column, labels, [float(v) for v in values]  # type: ignore[arg-type]
    return "", [], []


def chart(info: ReportInfo, rows: list[Row], start: datetime, end: datetime) -> bytes:
    """A PNG bar chart of the report's main series."""
    column, labels, values = main_series(info, rows)
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        if values:
            axes.barh(labels[::-1], values[::-1], color="#3366aa")
            axes.set_xlabel(column.replace("_", " "))
        else:
            axes.text(0.5, 0.5, "nothing in this period", ha="center", va="center")
            axes.set_axis_off()
        axes.set_title(f"{info.title}\n{start:%Y-%m-%d} to {end:%Y-%m-%d}", fontsize=10)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)
