"""Meta's rate-limit headers, and how long to pause because of them.

Every Graph API response may carry usage as JSON headers (percentages of the allowance):
- `x-business-use-case-usage`: `{"<business id>": [{"type", "call_count", "total_cputime",
  "total_time", "estimated_time_to_regain_access" (minutes)}]}`,
- `x-fb-ads-insights-throttle`: `{"app_id_util_pct", "acc_id_util_pct"}`,
- `x-ad-account-usage`: `{"acc_id_util_pct", "reset_time_duration" (seconds)}`,
- `x-app-usage`: `{"call_count", "total_cputime", "total_time"}`.
The client slows down as usage nears 100% instead of waiting to be blocked, and when Meta
says how long until access returns, it waits exactly that long.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PCT_KEYS = ("call_count", "total_cputime", "total_time", "app_id_util_pct", "acc_id_util_pct")


@dataclass(frozen=True)
class Usage:
    """The highest usage percentage any header reports, and Meta's own wait, in seconds."""

    max_pct: float = 0.0
    regain_seconds: float = 0.0


def read_usage(headers: Mapping[str, str]) -> Usage:
    """Parse the usage headers; malformed or missing ones count as no usage."""
    pct = 0.0
    regain = 0.0
    for entry in _usage_entries(headers):
        for key in PCT_KEYS:
            pct = max(pct, _number(entry.get(key)))
        regain = max(regain, 60 * _number(entry.get("estimated_time_to_regain_access")))
        if _number(entry.get("acc_id_util_pct")) >= 100:
            regain = max(regain, _number(entry.get("reset_time_duration")))
    return Usage(pct, regain)


def slow_down_seconds(usage: Usage, *, threshold_pct: float, max_pause: float) -> float:
    """The pause before the next call: Meta's wait if it gave one, else a pause growing
    linearly from 0 at `threshold_pct` to `max_pause` at 100%."""
    if usage.regain_seconds > 0:
        return usage.regain_seconds
    if usage.max_pct < threshold_pct or threshold_pct >= 100:
        return 0.0
    share = min(1.0, (usage.max_pct - threshold_pct) / (100 - threshold_pct))
    return round(max_pause * share, 3)


def _usage_entries(headers: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    for name in ("x-business-use-case-usage", "x-fb-ads-insights-throttle",
                 "x-ad-account-usage", "x-app-usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if name == "x-business-use-case-usage" and isinstance(value, dict):
            for entries in value.values():
                if isinstance(entries, list):
                    yield from (e for e in entries if isinstance(e, dict))
        elif isinstance(value, dict):
            yield value


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and number >= 0 else 0.0  # NaN and negatives: none
