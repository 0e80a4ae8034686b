"""Small, deterministic Graph API fixtures in the format `fake_graph_api` documents."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

PLACEMENTS = (("facebook", "feed"), ("instagram", "stream"), ("audience_network", "classic"))


def build_account(account_id: str, *, start: date, days: int, currency: str = "USD",
                  timezone_name: str = "America/New_York", campaigns: int = 2,
                  ads_per_campaign: int = 2) -> dict[str, Any]:
    """One account: `campaigns` campaigns of one ad set each, `ads_per_campaign` ads each.
    Every ad skips one day in seven, so some (ad, day) pairs have no row, as in real data."""
    base = int(account_id) * 1000
    account = {"id": f"act_{account_id}", "account_id": account_id,
               "name": f"Account {account_id}", "currency": currency,
               "timezone_name": timezone_name}
    fixture: dict[str, Any] = {"account": account, "campaigns": [], "adsets": [], "ads": [],
                               "insights": [], "insights_placement": []}
    ads = []
    for c in range(campaigns):
        campaign_id, adset_id = str(base + 100 + c), str(base + 200 + c)
        fixture["campaigns"].append({
            "id": campaign_id, "name": f"Campaign {c}", "status": "ACTIVE",
            "objective": "OUTCOME_SALES", "created_time": "2023-12-01T09:00:00-0500",
            "updated_time": "2024-01-02T10:30:00-0500"})
        fixture["adsets"].append({
            "id": adset_id, "name": f"Ad set {c}", "campaign_id": campaign_id,
            "status": "ACTIVE", "created_time": "2023-12-01T09:05:00-0500",
            "updated_time": "2024-01-02T10:30:00-0500"})
        for a in range(ads_per_campaign):
            ad_id = str(base + 300 + c * 10 + a)
            ad = {"id": ad_id, "name": f"Ad {c}.{a}", "adset_id": adset_id,
                  "campaign_id": campaign_id, "status": "PAUSED" if a else "ACTIVE",
                  "created_time": "2023-12-01T09:10:00-0500",
                  "updated_time": "2024-01-03T08:00:00-0500",
                  "creative": {"id": str(base + 900 + c * 10 + a),
                               "url_tags": f"utm_source=facebook&utm_ad_id={ad_id}"}}
            fixture["ads"].append(ad)
            ads.append((c, ad))
    for offset in range(days):
        day = (start + timedelta(days=offset)).isoformat()
        for index, (c, ad) in enumerate(ads):
            if (offset + index) % 7 == 0:
                continue
            cents = 101 + (offset * 37 + index * 53 + int(account_id)) % 4999
            impressions = 200 + (offset * 11 + index * 7) % 900
            row = {
                "account_id": account_id, "campaign_id": ad["campaign_id"],
                "campaign_name": f"Campaign {c}", "adset_id": ad["adset_id"],
                "adset_name": f"Ad set {c}", "ad_id": ad["id"], "ad_name": ad["name"],
                "date_start": day, "date_stop": day,
                "spend": str(Decimal(cents) / 100), "impressions": str(impressions),
                "clicks": str(impressions // 40), "reach": str(impressions * 4 // 5),
                "actions": [{"action_type": "link_click", "value": str(impressions // 40)},
                            {"action_type": "offsite_conversion.fb_pixel_purchase",
                             "value": str(offset % 3)}],
                "action_values": [{"action_type": "offsite_conversion.fb_pixel_purchase",
                                   "value": f"{(offset % 3) * 19.99:.2f}"}],
                "account_currency": currency,
            }
            fixture["insights"].append(row)
            fixture["insights_placement"].extend(_split_by_placement(row, cents, impressions))
    return fixture


def _split_by_placement(row: dict[str, Any], cents: int, impressions: int) -> list[dict]:
    parts = []
    left_cents, left_impressions = cents, impressions
    for n, (platform, position) in enumerate(PLACEMENTS):
        last = n == len(PLACEMENTS) - 1
        part_cents = left_cents if last else cents // 2 ** (n + 1)
        part_impressions = left_impressions if last else impressions // 2 ** (n + 1)
        left_cents -= part_cents
        left_impressions -= part_impressions
        parts.append({**row, "spend": str(Decimal(part_cents) / 100),
                      "impressions": str(part_impressions),
                      "clicks": str(part_impressions // 40),
                      "reach": str(part_impressions * 4 // 5),
                      "publisher_platform": platform, "platform_position": position})
    return parts


def write_fixtures(directory: Path, *accounts: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for fixture in accounts:
        path = directory / f"act_{fixture['account']['account_id']}.json"
        path.write_text(json.dumps(fixture, indent=1))
    return directory


def totals(rows: list[dict[str, Any]], since: str = "0000", until: str = "9999"
           ) -> tuple[int, Decimal]:
    """Row count and spend of fixture rows whose day is in since..until."""
    chosen = [r for r in rows if since <= r["date_start"] <= until]
    return len(chosen), sum((Decimal(r["spend"]) for r in chosen), Decimal("0"))
