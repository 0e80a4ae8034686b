"""The Facebook ad structure of the sample projects: accounts, campaigns, ad sets and ads.

Constants like the projects. Ads run over a share of the history (`start`/`stop` are
fractions of `days`), so some start late and one is paused half-way. Events land with the
UTM parameters of an ad that is running that day, and the insights fixtures hold spend for
exactly those ads and days.
"""

from __future__ import annotations

from bisect import bisect
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from urllib.parse import quote

from ingestion.sample_data.catalog import PROJECTS

URL_TAGS = (
    "utm_source=facebook&utm_medium=paid_social&utm_campaign={{campaign.name}}"
    "&utm_campaign_id={{campaign.id}}&utm_adset_id={{adset.id}}&utm_ad_id={{ad.id}}"
    "&utm_placement={{placement}}"
)

# (publisher_platform, platform_position, the {{placement}} value in URLs, share of delivery)
PLACEMENTS = (
    ("facebook", "feed", "Facebook_Mobile_Feed", 0.42),
    ("instagram", "feed", "Instagram_Feed", 0.24),
    ("instagram", "story", "Instagram_Stories", 0.16),
    ("instagram", "instagram_reels", "Instagram_Reels", 0.10),
    ("facebook", "story", "Facebook_Stories", 0.08),
)
PLACEMENT_CUMULATIVE = tuple(accumulate(p[3] for p in PLACEMENTS))

# Share of all sessions of a project that land from a Facebook ad, by the ad's audience
# (prospecting ads bring new visitors, retargeting ads bring them back).
FB_SESSION_SHARE = {0: {"new": 0.12, "return": 0.035}, 1: {"new": 0.05, "return": 0.0},
                    2: {"new": 0.10, "return": 0.01}}


@dataclass(frozen=True)
class Ad:
    ad_id: str
    name: str
    creative_id: str
    adset_id: str
    adset_name: str
    campaign_id: str
    campaign_name: str
    account_id: str
    project_index: int
    landing_path: str
    weight: float
    audience: str              # new | return
    start: float               # fraction of the history's days when it starts
    stop: float | None         # ... when it is paused (None: still running)

    def first_day(self, days: int) -> int:
        return round(self.start * days)

    def runs_on(self, day_index: int, days: int) -> bool:
        """Whether it delivers on the project day `day_index` (0 = the history's first)."""
        if day_index < self.first_day(days):
            return False
        return self.stop is None or day_index < round(self.stop * days)

    def landing_query(self) -> str:
        """The ad's URL query after Meta expands url_tags, without placement and fbclid."""
        return (f"utm_source=facebook&utm_medium=paid_social"
                f"&utm_campaign={quote(self.campaign_name, safe='')}"
                f"&utm_campaign_id={self.campaign_id}&utm_adset_id={self.adset_id}"
                f"&utm_ad_id={self.ad_id}")


@dataclass(frozen=True)
class AdAccount:
    account_id: str
    project_index: int
    name: str
    currency: str
    timezone: str
    campaigns: tuple[tuple[str, str, str, tuple[tuple[str, str, tuple[Ad, ...]], ...]], ...]
    # campaigns: (campaign_id, name, objective, adsets); adsets: (adset_id, name, ads)

    @property
    def ads(self) -> tuple[Ad, ...]:
        return tuple(ad for _, _, _, adsets in self.campaigns for _, _, ads in adsets for ad in ads)


# (account, project, name, currency, timezone, campaigns); campaign: (name, objective,
# adsets); ad set: (name, ads); ad: (name, landing path, weight, audience, start, stop).
_ACCOUNTS = (
    ("1001", 0, "Acme Outdoor - US", "USD", "America/New_York", (
        ("Autumn Sale 2026 | 20% off & free returns", "OUTCOME_SALES", (
            ("US 25-44 | Runners", (
                ("Video - Trail Runner 2 (15s)", "/products/trail-runner-2", 3.0, "new", 0, None),
                ("Carousel - Running bestsellers", "/collections/running", 2.0, "new", 0, None),
            )),
            ("Broad | Advantage+ audience", (
                ("Static - 20% off shell jackets", "/products/summit-shell-jacket", 2.0, "new", 0,
                 None),
                ("UGC - Alpine Pack review", "/products/alpine-pack-30l", 1.5, "new", 0, 0.6),
            )),
        )),
        ("Trail Runner 2 Launch", "OUTCOME_TRAFFIC", (
            ("Interest | Hiking & trail running", (
                ("Reel - Trail Runner 2 launch", "/products/trail-runner-2", 2.5, "new", 0.35,
                 None),
            )),
        )),
    )),
    # Deliberately in another timezone than its project (America/New_York): Beacon's
    # check flags it, and its days are Los Angeles days.
    ("1002", 0, "Acme Outdoor - Retargeting", "USD", "America/Los_Angeles", (
        ("Retargeting | Viewed, not purchased", "OUTCOME_SALES", (
            ("Visitors 30d, no purchase", (
                ("Dynamic - Products you viewed", "/cart", 2.0, "return", 0, None),
                ("Static - Free shipping this week", "/", 1.0, "return", 0, None),
            )),
        )),
    )),
    ("2001", 1, "Pocket Fitness", "EUR", "Europe/Berlin", (
        ("Web trials | DACH", "OUTCOME_LEADS", (
            ("DE women 25-45", (
                ("Video - 15 minute morning routine", "/start", 3.0, "new", 0, None),
                ("Static - 7 days free", "/plans", 2.0, "new", 0, None),
            )),
            ("DACH broad", (
                ("Carousel - Meet the coaches", "/", 1.5, "new", 0, None),
                ("Video - Members' stories", "/start", 1.0, "new", 0.5, None),
            )),
        )),
    )),
    ("3001", 2, "Orbit", "GBP", "UTC", (
        ("Free trial | Always on", "OUTCOME_LEADS", (
            ("UK developers & PMs", (
                ("Static - Roadmaps that survive", "/blog/roadmaps-that-survive-contact", 2.0,
                 "new", 0, None),
                ("Video - Orbit in 30 seconds", "/", 3.0, "new", 0, None),
            )),
            ("US startups 10-50", (
                ("Carousel - Templates", "/features", 2.0, "new", 0, None),
                ("Static - Free for 14 days", "/pricing", 1.5, "new", 0, None),
            )),
        )),
        ("Brand awareness | Q4", "OUTCOME_AWARENESS", (
            ("Lookalike 1% of customers", (
                ("Video - Plan like a pro", "/", 1.0, "return", 0.5, None),
            )),
        )),
    )),
)


def _build_accounts() -> tuple[AdAccount, ...]:
    accounts = []
    for account_id, project_index, name, currency, timezone, campaigns in _ACCOUNTS:
        built_campaigns = []
        for ci, (campaign_name, objective, adsets) in enumerate(campaigns, 1):
            campaign_id = f"12021{account_id}{ci:02d}000000"
            built_adsets = []
            for si, (adset_name, ads) in enumerate(adsets, 1):
                adset_id = f"12022{account_id}{ci:02d}{si:02d}0000"
                built_ads = tuple(
                    Ad(ad_id=f"12023{account_id}{ci:02d}{si:02d}{ai:02d}00", name=ad_name,
                       creative_id=f"12024{account_id}{ci:02d}{si:02d}{ai:02d}00",
                       adset_id=adset_id, adset_name=adset_name, campaign_id=campaign_id,
                       campaign_name=campaign_name, account_id=account_id,
                       project_index=project_index, landing_path=path, weight=weight,
                       audience=audience, start=start, stop=stop)
                    for ai, (ad_name, path, weight, audience, start, stop) in enumerate(ads, 1)
                )
                built_adsets.append((adset_id, adset_name, built_ads))
            built_campaigns.append((campaign_id, campaign_name, objective, tuple(built_adsets)))
        accounts.append(AdAccount(account_id, project_index, name, currency, timezone,
                                  tuple(built_campaigns)))
    return tuple(accounts)


AD_ACCOUNTS: tuple[AdAccount, ...] = _build_accounts()
ALL_ADS: tuple[Ad, ...] = tuple(ad for account in AD_ACCOUNTS for ad in account.ads)

assert all(account.account_id in PROJECTS[account.project_index].ad_account_ids
           for account in AD_ACCOUNTS)


@lru_cache(maxsize=4096)
def running_ads(project_index: int, audience: str, day_index: int,
                days: int) -> tuple[tuple[Ad, ...], tuple[float, ...]]:
    """The project's ads of an audience running on a day, with cumulative weights."""
    ads = tuple(ad for ad in ALL_ADS if ad.project_index == project_index
                and ad.audience == audience and ad.runs_on(day_index, days))
    return ads, tuple(accumulate(ad.weight for ad in ads))


def pick_ad(project_index: int, audience: str, day_index: int, days: int, u: float) -> Ad | None:
    """The ad a landing came from, for a uniform `u` in [0, 1); None when none runs."""
    ads, cumulative = running_ads(project_index, audience, day_index, days)
    if not ads:
        return None
    return ads[min(bisect(cumulative, u * cumulative[-1]), len(ads) - 1)]


def pick_placement(u: float) -> str:
    index = min(bisect(PLACEMENT_CUMULATIVE, u * PLACEMENT_CUMULATIVE[-1]), len(PLACEMENTS) - 1)
    return PLACEMENTS[index][2]
