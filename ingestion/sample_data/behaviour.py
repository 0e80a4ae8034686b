"""What visitors do in a session, project by project.

A `Script` collects one session's abstract events (see `shapes`) in time order; the
project functions below decide the pages, clicks, scrolls, forms and funnel steps, with
drop-off at every step. Think times are short, except in a few sessions that pause for
exactly 30:00 (still one session) or 30:01 (two sessions) to pin the boundary.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from random import Random

from ingestion.sample_data.ads import FB_SESSION_SHARE, Ad, pick_ad, pick_placement
from ingestion.sample_data.catalog import (
    ACME_CTAS,
    ACME_PAGES,
    ACME_PRODUCTS,
    ORBIT_CTAS,
    ORBIT_PAGES,
    ORBIT_PLANS,
    ORBIT_SCREENS,
    POCKET_PLANS,
    POCKET_SCREENS,
    POCKET_WEB_PAGES,
    REFERRAL_REFERRERS,
    SEARCH_REFERRERS,
    Page,
    ProjectSpec,
)
from ingestion.sample_data.draws import below, between, pick
from ingestion.sample_data.population import HEAVY_BOT_EVENTS, NEW_SESSION_SHARE, Plan, Visitor
from ingestion.sample_data.shapes import Event

SESSION_TIMEOUT_MS = 30 * 60_000
EDGE_GAP_SHARE = 0.03          # of sessions pausing exactly 30:00, and again 30:01
MAX_THINK_MS = 25 * 60_000     # ordinary pauses stay clear of the boundary

PageView = tuple[str, str, str, str]  # url, path, title, referrer


class Script:
    """One session's events, appended in time order."""

    __slots__ = ("rng", "t", "events", "user_id", "edge_gap", "edge_used")

    def __init__(self, rng: Random, start_ms: int, user_id: str | None, edge: bool = True):
        self.rng = rng
        self.t = start_ms
        self.events: list[Event] = []
        self.user_id = user_id
        self.edge_gap = 0
        self.edge_used = False
        if edge:
            u = rng.random()
            if u < EDGE_GAP_SHARE:
                self.edge_gap = SESSION_TIMEOUT_MS
            elif u < 2 * EDGE_GAP_SHARE:
                self.edge_gap = SESSION_TIMEOUT_MS + 1000

    def think(self) -> int:
        rng = self.rng
        mean = 18_000 if rng.random() < 0.72 else 140_000
        return min(max(int(rng.expovariate(1 / mean)), 300), MAX_THINK_MS)

    def add(self, kind: str, name: str | None = None, page: PageView | None = None,
            props: dict | None = None, channel: str = "web", gap: int | None = None) -> None:
        events = self.events
        if events:
            if (self.edge_gap and not self.edge_used and kind in ("page", "screen")
                    and len(events) >= 2 and events[-1][1] != "identify"):
                self.t += self.edge_gap
                self.edge_used = True
            else:
                self.t += self.think() if gap is None else gap
        events.append((self.t, kind, name, page, props, channel, self.user_id))

    @property
    def edge(self) -> int:
        """The exact pause this session took at the boundary (0 when none)."""
        return self.edge_gap if self.edge_used else 0


def fbclid(rng: Random) -> str:
    return "IwZXh0bgNhZW0BMAABH" + base64.urlsafe_b64encode(
        rng.getrandbits(240).to_bytes(30, "big")).decode().rstrip("=")


def _scroll_pct(rng: Random) -> float | int:
    return (25, 50, 75, 90, 100)[below(rng, 5)] if rng.random() < 0.7 else \
        round(rng.uniform(5, 100), 1)


def _money(rng: Random, amount: float) -> float | str:
    """Revenue as SDKs send it: mostly a number, sometimes a numeric string."""
    amount = round(amount, 2)
    return f"{amount:.2f}" if rng.random() < 0.15 else amount


_NAMES = ("alex", "sam", "maria", "jonas", "lea", "priya", "tom", "yuki", "omar", "chloe",
          "noah", "emma", "lukas", "ana", "ravi", "zoe")


def _traits(visitor: Visitor, rng: Random, t_iso: str | None = None) -> dict:
    name = _NAMES[visitor.index % len(_NAMES)]
    traits = {"email": f"{name}.{visitor.index}@example.com", "first_name": name.title()}
    if t_iso:
        traits["created_at"] = t_iso
    return traits


class ProjectDay:
    """Sessions of one project on one project-local day."""

    def __init__(self, project: ProjectSpec, plan: Plan, day_index: int):
        self.project = project
        self.plan = plan
        self.day_index = day_index
        self.iso_week = plan.date_of(day_index).isocalendar()[1]
        pages: dict[str, Page] = {}
        landing: list[Page] = []
        if project.index == 0:
            pages = {p.path: p for p in ACME_PAGES.values()}
            pages.update({p.path: p for p, _ in ACME_PRODUCTS})
            landing = [ACME_PAGES[k] for k in ("home", "running", "hiking", "new", "blog")]
            landing += [p for p, _ in ACME_PRODUCTS]
        elif project.index == 1:
            pages = {p.path: p for p in POCKET_WEB_PAGES.values()}
            landing = list(POCKET_WEB_PAGES.values())
        else:
            pages = {p.path: p for p in ORBIT_PAGES.values()}
            landing = [ORBIT_PAGES[k] for k in ("home", "features", "pricing", "docs", "api",
                                                "blog")]
        self.pages = pages
        self.landing_pages = landing
        web_share = {0: 1.0, 1: 0.35, 2: 0.82}[project.index]
        self.fb_return = FB_SESSION_SHARE[project.index]["return"] / (
            (1 - NEW_SESSION_SHARE) * web_share)
        self.session_for: dict[str, Callable[[Script, Visitor, bool, tuple], None]] = {
            "web": (self._acme, self._pocket_web, self._orbit_web)[project.index],
            "android": self._pocket_app,
            "ios": self._pocket_app if project.index == 1 else self._orbit_ios,
        }

    # -- where a web visit comes from ------------------------------------------------------

    def _view(self, page: Page, referrer: str, query: str = "") -> PageView:
        url = f"{self.project.site}{page.path}{'?' + query if query else ''}"
        return (url, page.path, page.title, referrer)

    def _navigate(self, current: PageView, page: Page) -> PageView:
        return (f"{self.project.site}{page.path}", page.path, page.title, current[0])

    def landing(self, visitor: Visitor, first: bool, rng: Random
                ) -> tuple[str, PageView, Ad | None]:
        """The source, first page view and ad (if any) of a web session."""
        if first:
            source = visitor.first_source
        else:
            u = rng.random()
            source = "fb" if u < self.fb_return else (
                "search" if u < 0.3 else "newsletter" if u < 0.44 else
                "referral" if u < 0.5 else "direct")
        ad = None
        if source == "fb":
            ad = pick_ad(self.project.index, "new" if first else "return", self.day_index,
                         self.plan.days, rng.random())
            if ad is None:  # no campaign running that day
                source = "search"
        landing_pages = self.landing_pages
        if source == "fb":
            placement = pick_placement(rng.random())
            query = (f"{ad.landing_query()}&utm_placement={placement}&fbclid={fbclid(rng)}")
            referrer = ("https://l.instagram.com/" if placement.startswith("Instagram")
                        else "https://m.facebook.com/" if rng.random() < 0.6 else "")
            return source, self._view(self.pages[ad.landing_path], referrer, query), ad
        page = pick(rng, landing_pages)
        if source == "newsletter":
            query = (f"utm_source=newsletter&utm_medium=email"
                     f"&utm_campaign=weekly_{self.plan.date_of(self.day_index).year}_w"
                     f"{self.iso_week:02d}")
            return source, self._view(page, "", query), None
        if source in ("search", "referral"):
            referrers = SEARCH_REFERRERS if source == "search" else REFERRAL_REFERRERS
            return source, self._view(page, pick(rng, referrers)), None
        if rng.random() < 0.7:
            page = landing_pages[0]
        return source, self._view(page, ""), None

    # -- sessions ----------------------------------------------------------------------------

    def session(self, visitor: Visitor, start_ms: int, first: bool, rng: Random
                ) -> tuple[Script, str, Ad | None]:
        """Play one session; returns the script, the source and the ad it landed from."""
        if visitor.bot:
            return self.bot_session(visitor, start_ms, rng), "bot", None
        script = Script(rng, start_ms, None if first else visitor.user_id)
        if visitor.channel == "web":
            source, page, ad = self.landing(visitor, first, rng)
        else:
            source, page, ad = "app", None, None
        self.session_for[visitor.channel](script, visitor, first, (source, page))
        return script, source, ad

    def bot_session(self, visitor: Visitor, start_ms: int, rng: Random) -> Script:
        script = Script(rng, start_ms, None, edge=False)
        low, high = visitor.bot_pages
        paths = list(self.pages.values())
        referrer = ""
        for _ in range(rng.randint(low, high)):
            page = pick(rng, paths)
            script.add("page", page=self._view(page, referrer), gap=between(rng, 400, 5000))
        return script

    def heavy_bot_session(self, visitor: Visitor, start_ms: int, rng: Random) -> Script:
        """Over 1,000 page views in one day, one every 8-25 seconds (a single session)."""
        script = Script(rng, start_ms, None, edge=False)
        paths = list(self.pages.values())
        for _ in range(HEAVY_BOT_EVENTS):
            page = pick(rng, paths)
            script.add("page", page=self._view(page, ""), gap=between(rng, 8_000, 25_000))
        return script

    def _login(self, s: Script, visitor: Visitor, first: bool, channel: str) -> None:
        """Identify: a second device logging in, or a returning user now and then."""
        if visitor.user_id and ((first and visitor.second_device)
                                or (not first and s.rng.random() < 0.2)):
            s.user_id = visitor.user_id
            s.add("identify", props=_traits(visitor, s.rng), channel=channel,
                  gap=between(s.rng, 200, 3000))

    # Acme: tracker for the browsing, the backend (Segment-style) for identity and orders.
    def _acme(self, s: Script, visitor: Visitor, first: bool, landing: tuple) -> None:
        rng = s.rng
        source, current = landing
        s.add("page", page=current)
        self._login(s, visitor, first, "server")
        if rng.random() < (0.27 if source == "fb" else 0.38):
            if rng.random() < 0.5:
                s.add("scroll", page=current, props={"scroll_pct": _scroll_pct(rng)})
            return
        products = {p.path: (p, price) for p, price in ACME_PRODUCTS}
        cart: list[float] = []
        for step in range(min(1 + int(rng.expovariate(1 / 3.2)), 20)):
            product = products.get(current[1])
            if product:
                page, price = product
                slug = page.path.rsplit("/", 1)[1]
                s.add("track", "product_view", current, {"product_id": slug, "price": price},
                      gap=between(rng, 150, 900))
                if rng.random() < 0.2 * visitor.buyer:
                    s.add("click", "Add to cart", current, {"selector": "button.product-form__add"})
                    s.add("track", "add_to_cart", current,
                          {"product_id": slug, "price": price, "quantity": 1},
                          gap=between(rng, 40, 400))
                    cart.append(price)
            if rng.random() < 0.4:
                s.add("scroll", page=current, props={"scroll_pct": _scroll_pct(rng)})
            if rng.random() < 0.18:
                label, selector = ACME_CTAS[1 + below(rng, len(ACME_CTAS) - 1)]
                s.add("click", label, current, {"selector": selector})
            u = rng.random()
            if u < 0.55:
                nxt = pick(rng, ACME_PRODUCTS)[0]
            elif u < 0.8:
                nxt = ACME_PAGES[("running", "hiking", "new")[below(rng, 3)]]
            else:
                nxt = ACME_PAGES[("home", "blog", "about")[below(rng, 3)]]
            if step < 1 or rng.random() < 0.85:
                current = self._navigate(current, nxt)
                s.add("page", page=current)
        if first and visitor.signup_stage:
            current = self._navigate(current, ACME_PAGES["signup"])
            s.add("page", page=current)
            s.add("form_start", page=current, gap=between(rng, 2_000, 20_000))
            if visitor.signup_stage >= 2:
                s.add("form_submit", page=current, gap=between(rng, 15_000, 120_000))
            if visitor.signup_stage == 3:
                s.user_id = visitor.user_id
                s.add("identify", props=_traits(visitor, rng), channel="server",
                      gap=between(rng, 300, 1500))
                s.add("track", "signup", None, {"method": "email"}, channel="server",
                      gap=between(rng, 10, 200))
        if cart and rng.random() < 0.6:
            current = self._navigate(current, ACME_PAGES["checkout"])
            s.add("page", page=current)
            total = round(sum(cart), 2)
            s.add("track", "checkout_start", current, {"value": total, "items": len(cart)},
                  gap=between(rng, 200, 1200))
            if rng.random() < min(0.95, 0.62 * visitor.buyer):
                s.add("track", "purchase", None,
                      {"order_id": f"A{between(rng, 10**6, 10**7)}",
                       "revenue": _money(rng, total), "currency": "USD", "items": len(cart)},
                      channel="server", gap=between(rng, 45_000, 400_000))
                current = self._navigate(current, ACME_PAGES["thanks"])
                s.add("page", page=current, gap=between(rng, 300, 2500))

    # Pocket Fitness web: the analytics server records the web trial checkout.
    def _pocket_web(self, s: Script, visitor: Visitor, first: bool, landing: tuple) -> None:
        rng = s.rng
        source, current = landing
        s.add("page", page=current)
        if rng.random() < (0.35 if source == "fb" else 0.45):
            return
        current = self._navigate(current, POCKET_WEB_PAGES["plans"])
        s.add("page", page=current)
        plan, price = pick(rng, POCKET_PLANS)
        s.add("track", "paywall_view", current, {"plan": plan}, gap=between(rng, 300, 1500))
        if rng.random() < 0.35 * visitor.buyer:
            current = self._navigate(current, POCKET_WEB_PAGES["start"])
            s.add("page", page=current)
            s.add("track", "signup", current, {"method": "email", "platform": "web"})
            s.add("track", "trial_start", current, {"plan": plan}, gap=between(rng, 500, 5000))
            if rng.random() < 0.5:
                s.add("track", "purchase", current,
                      {"plan": plan, "amount": _money(rng, price), "currency": "EUR"})

    # Pocket Fitness app: onboarding on the first open, workouts and the paywall later.
    def _pocket_app(self, s: Script, visitor: Visitor, first: bool, landing: tuple) -> None:
        rng = s.rng
        channel = visitor.channel
        if first:
            s.add("track", "app_open", props={"first_open": True}, channel=channel)
            s.add("screen", "Onboarding", channel=channel, gap=between(rng, 500, 3000))
            s.add("track", "onboarding_start", channel=channel, gap=between(rng, 2000, 15000))
            if visitor.signup_stage < 3:
                return
            s.add("track", "signup", props={"method": ("apple", "google", "email")[
                below(rng, 3)]}, channel=channel)
        else:
            s.add("track", "app_open", props={"first_open": False}, channel=channel)
        s.add("screen", "Home", channel=channel, gap=between(rng, 300, 2000))
        workouts = (1 if rng.random() < 0.7 else 0) if first else min(int(rng.expovariate(1)), 3)
        for _ in range(workouts):
            s.add("screen", POCKET_SCREENS[1], channel=channel)
            s.add("screen", POCKET_SCREENS[2], channel=channel)
            minutes = between(rng, 5, 29)
            s.add("track", "workout_start", props={"workout_id": f"w{between(rng, 1, 240)}",
                                                   "duration_min": minutes}, channel=channel)
            if rng.random() < 0.75:
                s.add("track", "workout_complete", props={"calories": between(rng, 40, 400)},
                      channel=channel, gap=minutes * 60_000 - between(rng, 0, 60_000))
        for _ in range(below(rng, 3)):
            s.add("screen", pick(rng, POCKET_SCREENS), channel=channel)
        if not first and rng.random() < 0.2 * visitor.buyer:
            plan, price = pick(rng, POCKET_PLANS)
            s.add("track", "paywall_view", props={"plan": plan}, channel=channel)
            if rng.random() < 0.35:
                s.add("track", "trial_start", props={"plan": plan}, channel=channel)
                if rng.random() < 0.5:
                    s.add("track", "purchase", props={"plan": plan, "amount": _money(rng, price),
                                                      "currency": "EUR"}, channel=channel)

    # Orbit website (analytics.js): marketing pages, trial signup, then the app and upgrades.
    def _orbit_web(self, s: Script, visitor: Visitor, first: bool, landing: tuple) -> None:
        rng = s.rng
        source, current = landing
        s.add("page", page=current)
        self._login(s, visitor, first, "web")
        if rng.random() < (0.3 if source == "fb" else 0.36):
            if rng.random() < 0.5:
                s.add("scroll", page=current, props={"scroll_pct": _scroll_pct(rng)})
            return
        marketing = [ORBIT_PAGES[k] for k in ("features", "pricing", "docs", "api", "blog")]
        for _ in range(min(int(rng.expovariate(1 / 2.2)), 12)):
            if rng.random() < 0.4:
                s.add("scroll", page=current, props={"scroll_pct": _scroll_pct(rng)})
            if rng.random() < 0.22:
                s.add("click", pick(rng, ORBIT_CTAS), current)
            current = self._navigate(current, pick(rng, marketing))
            s.add("page", page=current)
        if first and visitor.signup_stage:
            s.add("click", "Start free trial", current)
            current = self._navigate(current, ORBIT_PAGES["signup"])
            s.add("page", page=current)
            s.add("track", "signup_started", current, {"plan": "trial"},
                  gap=between(rng, 1000, 8000))
            if visitor.signup_stage < 3:
                return
            s.user_id = visitor.user_id
            s.add("identify", props=_traits(visitor, rng), gap=between(rng, 20_000, 150_000))
            s.add("track", "signup", current, {"plan": "trial", "method": "email"},
                  gap=between(rng, 50, 500))
            current = self._navigate(current, ORBIT_PAGES["dashboard"])
            s.add("page", page=current)
            if rng.random() < 0.7:
                s.add("track", "project_created", current, {"template": "roadmap"})
            if rng.random() < 0.4:  # some pick a paid plan right away
                self._orbit_upgrade(s, visitor, current, "web")
        elif rng.random() < 0.03:
            current = self._navigate(current, ORBIT_PAGES["demo"])
            s.add("page", page=current)
            s.add("track", "demo_request", current, {"company_size": "11-50"},
                  gap=between(rng, 20_000, 90_000))
        if not first and s.user_id:
            current = self._navigate(current, ORBIT_PAGES["dashboard"])
            s.add("page", page=current)
            if rng.random() < 0.25:
                s.add("track", "project_created", current, {"template": "blank"})
            self._orbit_upgrade(s, visitor, current, "web")

    def _orbit_upgrade(self, s: Script, visitor: Visitor, current: PageView | None,
                       channel: str) -> None:
        rng = s.rng
        if rng.random() >= 0.2 * visitor.buyer:
            return
        plan, price = pick(rng, ORBIT_PLANS)
        s.add("track", "plan_selected", current, {"plan": plan}, channel=channel)
        if rng.random() < 0.6:
            if current is not None:
                current = self._navigate(current, ORBIT_PAGES["billing"])
                s.add("page", page=current, channel=channel)
            s.add("track", "checkout_start", current, {"plan": plan}, channel=channel)
            if rng.random() < 0.6:
                s.add("track", "purchase", current, {"plan": plan, "revenue": _money(rng, price),
                                                      "currency": "GBP"}, channel=channel,
                      gap=between(rng, 30_000, 240_000))

    # Orbit iOS app (analytics-ios): screens, logins of existing users, in-app upgrades.
    def _orbit_ios(self, s: Script, visitor: Visitor, first: bool, landing: tuple) -> None:
        rng = s.rng
        s.add("screen", ORBIT_SCREENS[0], channel="ios")
        self._login(s, visitor, first, "ios")
        if first and visitor.signup_stage == 3:
            s.user_id = visitor.user_id
            s.add("identify", props=_traits(visitor, rng), channel="ios")
            s.add("track", "signup", props={"plan": "trial", "method": "apple"}, channel="ios")
        for _ in range(min(int(rng.expovariate(1 / 2.5)), 10)):
            s.add("screen", pick(rng, ORBIT_SCREENS), channel="ios")
            if rng.random() < 0.3:
                s.add("track", "project_opened", props={"view": "board"}, channel="ios")
        if s.user_id:
            self._orbit_upgrade(s, visitor, None, "ios")
