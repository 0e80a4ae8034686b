"""Facebook fixtures: one JSON file per ad account, as the fake Graph API serves them.

Insights are daily rows at level=ad, in the shape the Marketing API returns (numbers as
strings, zero-valued actions left out). Link clicks follow the landings the events get
from each ad that day (a little higher: not every click becomes a tracked visit), so
spend, sessions and attributed conversions line up. Placement rows split every additive
number of the unbroken row exactly; reach, which is not additive, sums to at least it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from random import Random

from ingestion.sample_data.ads import (
    AD_ACCOUNTS,
    FB_SESSION_SHARE,
    PLACEMENTS,
    URL_TAGS,
    Ad,
    AdAccount,
    running_ads,
)
from ingestion.sample_data.catalog import PROJECTS
from ingestion.sample_data.population import Plan

PURCHASE = "offsite_conversion.fb_pixel_purchase"
REGISTRATION = "offsite_conversion.fb_pixel_complete_registration"
# (purchase rate per link click, average order value, registration rate) by project.
_CONVERSION = {0: (0.035, 150.0, 0.02), 1: (0.03, 35.0, 0.08), 2: (0.008, 120.0, 0.06)}


def _graph_time(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour)).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def expected_landings(plan: Plan, ad: Ad, day_index: int) -> float:
    """Sessions the events get from `ad` on a day, on average (see DayWriter/behaviour)."""
    ads, cumulative = running_ads(ad.project_index, ad.audience, day_index, plan.days)
    if ad not in ads:
        return 0.0
    share = FB_SESSION_SHARE[ad.project_index][ad.audience]
    return plan.expected_sessions(ad.project_index, day_index) * share * ad.weight / cumulative[-1]


def split(total: int, weights: list[float], rng: Random) -> list[int]:
    """`total` shared out in proportion to (slightly jittered) weights, summing exactly."""
    jittered = [w * rng.uniform(0.8, 1.2) for w in weights]
    scale = sum(jittered)
    if total == 0 or scale == 0:
        return [0] * len(weights)
    exact = [total * w / scale for w in jittered]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(parts)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _actions(counts: dict[str, int]) -> list[dict[str, str]]:
    return [{"action_type": kind, "value": str(n)} for kind, n in counts.items() if n]


def _insight(account: AdAccount, ad: Ad, day: date, spend: int, impressions: int, clicks: int,
             reach: int, actions: dict[str, int], purchase_value: int) -> dict:
    row: dict = {
        "account_id": account.account_id,
        "campaign_id": ad.campaign_id,
        "campaign_name": ad.campaign_name,
        "adset_id": ad.adset_id,
        "adset_name": ad.adset_name,
        "ad_id": ad.ad_id,
        "ad_name": ad.name,
        "date_start": day.isoformat(),
        "date_stop": day.isoformat(),
        "spend": _money(spend),
        "impressions": str(impressions),
        "clicks": str(clicks),
        "reach": str(reach),
    }
    if any(actions.values()):
        row["actions"] = _actions(actions)
    if purchase_value:
        row["action_values"] = [{"action_type": PURCHASE, "value": _money(purchase_value)}]
    row["account_currency"] = account.currency
    return row


def ad_day_rows(plan: Plan, account: AdAccount, ad: Ad, day_index: int) -> tuple[dict, list[dict]]:
    """The insights row of an ad on a day and its placement rows."""
    rng = Random(f"facebook/{plan.seed}/{ad.ad_id}/{day_index}")
    day = plan.date_of(day_index)
    purchase_rate, order_value, registration_rate = _CONVERSION[ad.project_index]
    landings = expected_landings(plan, ad, day_index)
    link_clicks = int(landings * rng.uniform(1.1, 1.45) + rng.random())
    clicks = link_clicks + int(link_clicks * rng.uniform(0.3, 0.8) + rng.random())
    ctr = rng.uniform(0.009, 0.022)
    impressions = max(clicks + 1, int(clicks / ctr)) if clicks else rng.randrange(40, 400)
    frequency = rng.uniform(1.08, 1.6)
    reach = max(1, int(impressions / frequency))
    spend = round(impressions * rng.uniform(7.0, 16.0) / 10)  # CPM 7-16, in cents
    purchases = int(link_clicks * purchase_rate + rng.random())
    purchase_value = round(purchases * order_value * rng.uniform(0.8, 1.2) * 100)
    actions = {
        "link_click": link_clicks,
        "landing_page_view": int(link_clicks * rng.uniform(0.75, 0.92)),
        REGISTRATION: int(link_clicks * registration_rate + rng.random()),
        PURCHASE: purchases,
    }
    row = _insight(account, ad, day, spend, impressions, clicks, reach, actions, purchase_value)

    placement_impressions = split(impressions, [p[3] for p in PLACEMENTS], rng)
    weights = [float(n) for n in placement_impressions]
    spends = split(spend, weights, rng)
    click_parts = split(clicks, weights, rng)
    action_parts = {kind: split(n, weights, rng) for kind, n in actions.items()}
    value_parts = split(purchase_value, [float(n) for n in action_parts[PURCHASE]], rng)
    placement_rows = []
    for i, (platform, position, _, _) in enumerate(PLACEMENTS):
        if not placement_impressions[i]:
            continue  # Meta leaves out placements that delivered nothing
        part_reach = max(1, int(placement_impressions[i] / rng.uniform(1.0, frequency)))
        part = _insight(account, ad, day, spends[i], placement_impressions[i], click_parts[i],
                        part_reach, {k: v[i] for k, v in action_parts.items()}, value_parts[i])
        part["publisher_platform"] = platform
        part["platform_position"] = position
        placement_rows.append(part)
    return row, placement_rows


def _dimensions(plan: Plan, account: AdAccount) -> tuple[list, list, list]:
    def created(ad: Ad) -> date:
        first = ad.first_day(plan.days)
        return plan.date_of(first) - timedelta(days=14 if first == 0 else 1)

    campaigns, adsets, ads = [], [], []
    for campaign_id, campaign_name, objective, campaign_adsets in account.campaigns:
        campaign_ads = [ad for _, _, set_ads in campaign_adsets for ad in set_ads]
        campaign_created = min(created(ad) for ad in campaign_ads)
        campaigns.append({"id": campaign_id, "name": campaign_name, "status": "ACTIVE",
                          "objective": objective,
                          "created_time": _graph_time(campaign_created, 9),
                          "updated_time": _graph_time(campaign_created + timedelta(days=1), 11)})
        for adset_id, adset_name, set_ads in campaign_adsets:
            adset_created = min(created(ad) for ad in set_ads)
            adsets.append({"id": adset_id, "name": adset_name, "campaign_id": campaign_id,
                           "status": "ACTIVE", "created_time": _graph_time(adset_created, 9),
                           "updated_time": _graph_time(adset_created + timedelta(days=1), 12)})
            for ad in set_ads:
                paused = ad.stop is not None
                updated = (plan.date_of(round(ad.stop * plan.days)) if paused
                           else created(ad) + timedelta(days=2))
                ads.append({"id": ad.ad_id, "name": ad.name, "adset_id": adset_id,
                            "campaign_id": campaign_id,
                            "status": "PAUSED" if paused else "ACTIVE",
                            "created_time": _graph_time(created(ad), 10),
                            "updated_time": _graph_time(updated, 18 if paused else 10),
                            "creative": {"id": ad.creative_id, "url_tags": URL_TAGS}})
    return campaigns, adsets, ads


def account_document(plan: Plan, account: AdAccount, last_day_index: int) -> dict:
    campaigns, adsets, ads = _dimensions(plan, account)
    insights, placement = [], []
    for day_index in range(last_day_index + 1):
        for ad in account.ads:
            if ad.runs_on(day_index, plan.days):
                row, parts = ad_day_rows(plan, account, ad, day_index)
                insights.append(row)
                placement.extend(parts)
    return {
        "account": {"id": f"act_{account.account_id}", "account_id": account.account_id,
                    "name": account.name, "currency": account.currency,
                    "timezone_name": account.timezone},
        "campaigns": campaigns,
        "adsets": adsets,
        "ads": ads,
        "insights": insights,
        "insights_placement": placement,
    }


def write_fixtures(out_dir: Path, plan: Plan, last_day_index: int) -> list[dict]:
    """Write `facebook/act_<id>.json` for every account; returns a line per account for
    the summary."""
    folder = out_dir / "facebook"
    folder.mkdir(parents=True, exist_ok=True)
    accounts = []
    for account in AD_ACCOUNTS:
        document = account_document(plan, account, last_day_index)
        path = folder / f"act_{account.account_id}.json"
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
        project = PROJECTS[account.project_index]
        spend = sum(int(r["spend"].replace(".", "")) for r in document["insights"])
        accounts.append({
            "id": f"act_{account.account_id}",
            "project_id": project.project_id,
            "currency": account.currency,
            "timezone": account.timezone,
            "matches_project": (account.currency, account.timezone)
            == (project.currency, project.timezone),
            "ads": len(document["ads"]),
            "insights_rows": len(document["insights"]),
            "placement_rows": len(document["insights_placement"]),
            "spend": _money(spend),
        })
    return accounts
