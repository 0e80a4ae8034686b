"""The fixed world of the sample data: three projects, their sites, SDK keys and funnels.

These are constants (the same for every seed), so `config/projects.yml` can be checked in
and the demo's registry never changes under anyone's feet.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

SEGMENT, MOBILE, SERVER, TRACKER = "segment", "mobile", "server", "tracker"


@dataclass(frozen=True)
class Page:
    path: str
    title: str


@dataclass(frozen=True)
class FunnelSpec:
    name: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class ProjectSpec:
    """A tracked app or site. `channels` maps where an event comes from to (shape, SDK key)."""

    index: int
    project_id: str
    name: str
    timezone: str
    currency: str
    channels: dict[str, tuple[str, str]]
    ad_account_ids: tuple[str, ...]
    funnels: tuple[FunnelSpec, ...]
    revenue_property: str
    conversion_events: tuple[str, ...]
    retention_days: int
    share: float                       # of all events
    weekday_factor: tuple[float, ...]  # Monday first
    site: str
    locales: tuple[str, ...]
    visitor_timezones: tuple[tuple[str, int], ...]  # (IANA name, fixed offset minutes)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(key for _, key in self.channels.values()))

    @property
    def shapes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(shape for shape, _ in self.channels.values()))


# Acme: a web shop. The web tracker records browsing; the backend sends Segment-style
# identify/signup/purchase calls with the tracker's visitor key as anonymous_id.
ACME = ProjectSpec(
    index=0,
    project_id="acme_shop",
    name="Acme Outdoor Shop",
    timezone="America/New_York",
    currency="USD",
    channels={"web": (TRACKER, "pk_live_acme_web_4f9c2a7e"),
              "server": (SEGMENT, "wk_acme_backend_8d31e7b0")},
    ad_account_ids=("1001", "1002"),
    funnels=(FunnelSpec("Purchase flow", ("product_view", "add_to_cart", "checkout_start",
                                          "purchase")),
             FunnelSpec("Account signup", ("form_start", "form_submit", "signup"))),
    revenue_property="revenue",
    conversion_events=("purchase", "signup"),
    retention_days=730,
    share=0.45,
    weekday_factor=(1.0, 0.97, 0.95, 0.98, 1.05, 1.2, 1.15),
    site="https://shop.acme.example",
    locales=("en-US", "en-US", "en-US", "es-US", "en-CA"),
    visitor_timezones=(("America/New_York", -300), ("America/Chicago", -360),
                       ("America/Denver", -420), ("America/Los_Angeles", -480)),
)

# Pocket Fitness: a mobile app (mobile SDK) with a web checkout tracked by its analytics
# server. Revenue is in `amount`.
POCKET = ProjectSpec(
    index=1,
    project_id="pocket_fitness",
    name="Pocket Fitness",
    timezone="Europe/Berlin",
    currency="EUR",
    channels={"android": (MOBILE, "ak_pocket_android_51c0d9"),
              "ios": (MOBILE, "ak_pocket_ios_e27f46"),
              "web": (SERVER, "pk_pocket_server_93ab1c")},
    ad_account_ids=("2001",),
    funnels=(FunnelSpec("Onboarding", ("onboarding_start", "signup", "workout_start")),
             FunnelSpec("Subscription", ("paywall_view", "trial_start", "purchase"))),
    revenue_property="amount",
    conversion_events=("purchase", "signup"),
    retention_days=400,
    share=0.30,
    weekday_factor=(1.15, 1.05, 1.0, 0.98, 0.9, 0.92, 1.1),
    site="https://pocketfit.example",
    locales=("de-DE", "de-DE", "de-AT", "de-CH", "en-GB"),
    visitor_timezones=(("Europe/Berlin", 60), ("Europe/Vienna", 60), ("Europe/Zurich", 60)),
)

# Orbit: a SaaS product sending everything Segment-style from its website (analytics.js)
# and its iOS app (screens), with `project_key` instead of `write_key` from the app.
ORBIT = ProjectSpec(
    index=2,
    project_id="orbit_saas",
    name="Orbit Project Planner",
    timezone="UTC",
    currency="GBP",
    channels={"web": (SEGMENT, "wk_orbit_web_c4d2f8a1"),
              "ios": (SEGMENT, "wk_orbit_ios_7b90e3d5")},
    ad_account_ids=("3001",),
    funnels=(FunnelSpec("Trial signup", ("signup_started", "signup", "project_created")),
             FunnelSpec("Upgrade", ("plan_selected", "checkout_start", "purchase"))),
    revenue_property="revenue",
    conversion_events=("purchase", "signup", "demo_request"),
    retention_days=365,
    share=0.25,
    weekday_factor=(1.1, 1.12, 1.1, 1.05, 0.95, 0.6, 0.65),
    site="https://orbit.example",
    locales=("en-GB", "en-GB", "en-US", "fr-FR", "en-IN"),
    visitor_timezones=(("Europe/London", 0), ("Europe/Paris", 60),
                       ("America/New_York", -300), ("Asia/Kolkata", 330)),
)

PROJECTS: tuple[ProjectSpec, ...] = (ACME, POCKET, ORBIT)

# Keys of no project (an old, deleted app), for `unknown_project` lines.
RETIRED_KEYS = {SEGMENT: "wk_retired_2019_0a0a0a", MOBILE: "ak_retired_app_0b0b0b",
                SERVER: "pk_retired_server_0c0c0c", TRACKER: "pk_live_retired_0d0d0d"}

ACME_PAGES = {
    "home": Page("/", "Acme Outdoor - Gear for every trail"),
    "running": Page("/collections/running", "Running | Acme Outdoor"),
    "hiking": Page("/collections/hiking", "Hiking | Acme Outdoor"),
    "new": Page("/collections/new-arrivals", "New arrivals | Acme Outdoor"),
    "cart": Page("/cart", "Your cart | Acme Outdoor"),
    "checkout": Page("/checkout", "Checkout | Acme Outdoor"),
    "thanks": Page("/checkout/thank-you", "Thank you for your order | Acme Outdoor"),
    "signup": Page("/account/signup", "Create an account | Acme Outdoor"),
    "blog": Page("/blog/how-to-choose-trail-running-shoes",
                 "How to choose trail running shoes | Acme Journal"),
    "about": Page("/pages/about", "About us | Acme Outdoor"),
}
# (page, price in USD)
ACME_PRODUCTS = (
    (Page("/products/trail-runner-2", "Trail Runner 2 | Acme Outdoor"), 129.0),
    (Page("/products/summit-shell-jacket", "Summit Shell Jacket | Acme Outdoor"), 219.0),
    (Page("/products/merino-hiking-socks", "Merino Hiking Socks (3-pack) | Acme Outdoor"), 34.5),
    (Page("/products/alpine-pack-30l", "Alpine Pack 30L | Acme Outdoor"), 149.9),
    (Page("/products/cafe-thermos", "Café Thermos 0.5L | Acme Outdoor"), 39.9),
)
ACME_CTAS = (("Add to cart", "button.product-form__add"), ("Shop now", "a.hero__cta"),
             ("Sign up for 10% off", "button.newsletter__submit"),
             ("View details", "a.card__link"), (None, "div.size-picker > button"))

POCKET_WEB_PAGES = {
    "home": Page("/", "Pocket Fitness - Your coach in your pocket"),
    "plans": Page("/plans", "Plans and pricing - Pocket Fitness"),
    "start": Page("/start", "Start your free trial - Pocket Fitness"),
    "blog": Page("/blog/15-minute-morning-routine", "A 15-minute morning routine"),
}
POCKET_SCREENS = ("Home", "Workouts", "WorkoutDetail", "Progress", "Profile", "Settings")
POCKET_PLANS = (("monthly", 9.99), ("annual", 59.99))

ORBIT_PAGES = {
    "home": Page("/", "Orbit - Project planning for small teams"),
    "features": Page("/features", "Features - Orbit"),
    "pricing": Page("/pricing", "Pricing - Orbit"),
    "docs": Page("/docs/getting-started", "Getting started - Orbit docs"),
    "api": Page("/docs/api/projects", "Projects API - Orbit docs"),
    "blog": Page("/blog/roadmaps-that-survive-contact", "Roadmaps that survive contact"),
    "signup": Page("/signup", "Create your Orbit workspace"),
    "demo": Page("/demo", "Book a demo - Orbit"),
    "dashboard": Page("/app/dashboard", "Dashboard - Orbit"),
    "new_project": Page("/app/projects/new", "New project - Orbit"),
    "billing": Page("/app/settings/billing", "Billing - Orbit"),
}
ORBIT_CTAS = ("Start free trial", "Book a demo", "Read the docs", "See pricing",
              "Compare plans")
ORBIT_SCREENS = ("Dashboard", "Projects", "ProjectDetail", "Inbox", "Settings")
ORBIT_PLANS = (("team_monthly", 29.0), ("business_monthly", 99.0), ("team_annual", 290.0))

# Non-Facebook sources: referrer URLs and newsletter campaigns.
SEARCH_REFERRERS = ("https://www.google.com/", "https://www.google.com/", "https://www.google.de/",
                    "https://www.bing.com/", "https://duckduckgo.com/")
REFERRAL_REFERRERS = ("https://news.ycombinator.com/", "https://www.reddit.com/r/trailrunning/",
                      "https://t.co/x8Kd0LmQz2", "https://l.facebook.com/", "https://lnkd.in/")


def projects_yaml() -> str:
    """The registry (SPEC 3.1) of the sample projects, as `config/projects.yml` holds it."""
    document = {
        "projects": [
            {
                "project_id": p.project_id,
                "name": p.name,
                "keys": list(p.keys),
                "timezone": p.timezone,
                "currency": p.currency,
                "facebook_ad_account_ids": [f"act_{a}" for a in p.ad_account_ids],
                "conversion_events": list(p.conversion_events),
                "revenue_property": p.revenue_property,
                "funnels": [{"name": f.name, "steps": list(f.steps), "conversion_window_days": 7}
                            for f in p.funnels],
                "retention_days": p.retention_days,
            }
            for p in PROJECTS
        ]
    }
    header = (
        "# Beacon projects registry (SPEC 3.1): one entry per tracked app or site.\n"
        "# These are the sample projects of `beacon sample-data`\n"
        "# (ingestion.sample_data.projects_yaml()); replace them with your own.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=100)
