"""Inclusive date ranges, as the insights API's `time_range` takes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ingestion.errors import BeaconError


@dataclass(frozen=True, order=True)
class DateRange:
    since: date
    until: date

    def __post_init__(self) -> None:
        if self.since > self.until:
            raise BeaconError(f"date range starts after it ends: {self.since} > {self.until}")

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def halves(self) -> tuple[DateRange, DateRange]:
        """Two ranges covering this one (which must span at least 2 days)."""
        middle = self.since + timedelta(days=self.days // 2 - 1)
        return DateRange(self.since, middle), DateRange(middle + timedelta(days=1), self.until)

    def contains(self, day: date) -> bool:
        return self.since <= day <= self.until

    def __str__(self) -> str:
        return f"{self.since}..{self.until}"


def widen_for_restatement(since: date, until: date, restatement_days: int) -> DateRange:
    """The range to pull: `since..until`, reaching back to cover the trailing window Meta
    may still restate (`restatement_days` days ending at `until`; 1 means no widening)."""
    if restatement_days < 1:
        raise BeaconError(f"restatement_days must be at least 1, got {restatement_days}")
    return DateRange(min(since, until - timedelta(days=restatement_days - 1)), until)
