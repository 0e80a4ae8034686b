"""Validating insights rows (from the API or a CSV export) into typed values.

Meta sends every number as a string; they become `Decimal` and `int` here, never float.
Metrics Meta leaves out of a row (it omits zero-valued ones) count as zero, `reach` as
unknown. Anything malformed is a `BeaconError` naming where the row came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ingestion.errors import BeaconError

MAX_SPEND = Decimal("1e16")  # numeric(18, 2)

Fail = Callable[[str], BeaconError]


@dataclass(frozen=True)
class InsightRow:
    ad_account_id: str
    date_start: date
    date_stop: date
    campaign_id: str | None
    campaign_name: str | None
    adset_id: str | None
    adset_name: str | None
    ad_id: str
    ad_name: str | None
    spend: Decimal
    impressions: int
    clicks: int
    reach: int | None
    actions: list[dict[str, Any]] | None
    action_values: list[dict[str, Any]] | None
    account_currency: str | None
    publisher_platform: str | None = None
    platform_position: str | None = None


def parse_insight(
    raw: Mapping[str, Any], *, ad_account_id: str, where: str, placement: bool = False
) -> InsightRow:
    """One row at level=ad, time_increment=1. `where` names it in errors (e.g. `file:12`)."""

    def fail(problem: str) -> BeaconError:
        return BeaconError(f"{where}: {problem}")

    account = _text(raw.get("account_id"))
    if account is not None and account.removeprefix("act_") != ad_account_id:
        raise fail(f"row belongs to ad account {account}, not {ad_account_id}")
    ad_id = _text(raw.get("ad_id"))
    if ad_id is None:
        raise fail("missing ad_id")
    start = parse_day(raw.get("date_start"), "date_start", fail)
    stop = parse_day(raw.get("date_stop", raw.get("date_start")), "date_stop", fail)
    if stop != start:
        raise fail(f"date_start {start} and date_stop {stop} differ: not a daily row")
    platform = position = None
    if placement:
        platform = _text(raw.get("publisher_platform"))
        position = _text(raw.get("platform_position"))
        if platform is None or position is None:
            raise fail("placement row without publisher_platform and platform_position")
    reach = raw.get("reach")
    return InsightRow(
        ad_account_id=ad_account_id,
        date_start=start,
        date_stop=stop,
        campaign_id=_text(raw.get("campaign_id")),
        campaign_name=_text(raw.get("campaign_name")),
        adset_id=_text(raw.get("adset_id")),
        adset_name=_text(raw.get("adset_name")),
        ad_id=ad_id,
        ad_name=_text(raw.get("ad_name")),
        spend=parse_money(raw.get("spend"), "spend", fail),
        impressions=parse_count(raw.get("impressions"), "impressions", fail),
        clicks=parse_count(raw.get("clicks"), "clicks", fail),
        reach=None if reach in (None, "") else parse_count(reach, "reach", fail),
        actions=_action_list(raw.get("actions"), "actions", fail),
        action_values=_action_list(raw.get("action_values"), "action_values", fail),
        account_currency=_text(raw.get("account_currency")),
        publisher_platform=platform,
        platform_position=position,
    )


def parse_day(value: Any, name: str, fail: Fail) -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise fail(f"{name} {value!r} is not a YYYY-MM-DD date") from None


def parse_money(value: Any, name: str, fail: Fail) -> Decimal:
    """A non-negative amount with at most 2 decimals (more would be silently rounded)."""
    if value in (None, ""):
        return Decimal("0.00")
    if isinstance(value, float):
        raise fail(f"{name} {value!r} is a float, expected a decimal string")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise fail(f"{name} {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_SPEND:
        raise fail(f"{name} {value!r} is out of range")
    if amount != amount.quantize(Decimal("0.01")):
        raise fail(f"{name} {value!r} has more than 2 decimals")
    return amount.quantize(Decimal("0.01"))


def parse_count(value: Any, name: str, fail: Fail) -> int:
    if value in (None, ""):
        return 0
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise fail(f"{name} {value!r} is not a non-negative whole number")
    return int(text)


def parse_timestamp(value: Any, name: str, fail: Fail) -> datetime | None:
    """Graph API times look like `2024-01-15T10:00:00-0800`."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise fail(f"{name} {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise fail(f"{name} {value!r} has no UTC offset")
    return moment


def _action_list(value: Any, name: str, fail: Fail) -> list[dict[str, Any]] | None:
    """`actions` as returned: a list of {"action_type", "value", ...}; kept verbatim."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise fail(f"{name} is not JSON") from None
    if not isinstance(value, list) or not all(
        isinstance(a, dict) and "action_type" in a for a in value
    ):
        raise fail(f"{name} must be a list of objects with an action_type")
    for action in value:
        parse_money_like(action.get("value"), f"{name}[{action['action_type']}].value", fail)
    return value


def parse_money_like(value: Any, name: str, fail: Fail) -> None:
    """Action values are decimal strings too (any precision); check they are numbers."""
    try:
        if value is not None and not Decimal(str(value)).is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise fail(f"{name} {value!r} is not a number") from None


def _text(value: Any) -> str | None:
    """A trimmed string or None; NUL is cut out, since PostgreSQL text cannot hold it."""
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text or None
