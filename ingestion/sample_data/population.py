"""How many events each project-day gets, and who the visitors are.

Everything here is a pure function of (seed, project, day) or (seed, project, visitor
index), so any project-day can be generated on its own, in any process, in any order,
and a visitor looks the same on every day it comes back.

Visitors of a project are numbered in order of their first day: day d introduces
`new_visitors(p, d)` of them, starting at `first_new_visitor(p, d)`; returning sessions
pick among all visitors introduced so far, favouring recent ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from random import Random

from ingestion.sample_data import devices
from ingestion.sample_data.ads import FB_SESSION_SHARE
from ingestion.sample_data.catalog import PROJECTS, ProjectSpec
from ingestion.sample_data.draws import below, between, pick

AVG_EVENTS_PER_SESSION = 5.2   # measured on generated data; sizes the population
NEW_SESSION_SHARE = 0.5        # of sessions that are a new visitor's first
GROWTH_PER_DAY = 0.004
HEAVY_BOT_INDEX = 1 << 40      # a visitor index outside every population
HEAVY_BOT_EVENTS = 1_250       # the scraper's page views on its one day (> 1,000)
HEAVY_BOT_MIN_EVENTS = 20_000  # smaller runs have no room for it
_MASK64 = (1 << 64) - 1


def rng_for(seed: int, *parts: int) -> Random:
    """An independent random stream for (seed, parts), each part below 2**48."""
    key = seed & _MASK64
    for part in parts:
        key = (key << 48) | part
    return Random(key)


@dataclass(frozen=True)
class Plan:
    """The size and calendar of a run: N events over `days` project-local days."""

    events: int
    days: int
    seed: int
    end_date: date

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)

    def date_of(self, day_index: int) -> date:
        return self.start_date + timedelta(days=day_index)

    def _weight(self, project: ProjectSpec, day_index: int) -> float:
        weekday = self.date_of(day_index).weekday()
        return project.share * project.weekday_factor[weekday] * (1 + GROWTH_PER_DAY * day_index)

    @property
    def heavy_bot_day(self) -> int | None:
        """The history day (of the first project) with the >1,000-events scraper, if any."""
        return self.days // 2 if self.events >= HEAVY_BOT_MIN_EVENTS else None

    def heavy_bot_events(self, project_index: int, day_index: int) -> int:
        return HEAVY_BOT_EVENTS if (project_index, day_index) == (0, self.heavy_bot_day) else 0

    @cached_property
    def _history_budgets(self) -> tuple[tuple[int, ...], ...]:
        """Events per (project, day) of the history, summing to exactly `events`: people's
        share by weight, plus the scraper's on its day."""
        weights = [[self._weight(p, d) for d in range(self.days)] for p in PROJECTS]
        total = sum(map(sum, weights))
        people = self.events - (HEAVY_BOT_EVENTS if self.heavy_bot_day is not None else 0)
        exact = [[people * w / total for w in row] for row in weights]
        budgets = [[int(x) for x in row] for row in exact]
        short = people - sum(map(sum, budgets))
        # Largest remainders get the events lost to rounding down, ties by position.
        order = sorted(((exact[p][d] - budgets[p][d], -p, -d) for p in range(len(PROJECTS))
                        for d in range(self.days)), reverse=True)
        for _, neg_p, neg_d in order[:short]:
            budgets[-neg_p][-neg_d] += 1
        if self.heavy_bot_day is not None:
            budgets[0][self.heavy_bot_day] += HEAVY_BOT_EVENTS
        return tuple(tuple(row) for row in budgets)

    @cached_property
    def _history_weight(self) -> float:
        return sum(self._weight(p, d) for p in PROJECTS for d in range(self.days))

    def budget(self, project_index: int, day_index: int) -> int:
        """Well-formed, distinct events of a project-day; days after the history are sized
        like its days (about events / days)."""
        if day_index < self.days:
            return self._history_budgets[project_index][day_index]
        weight = self._weight(PROJECTS[project_index], day_index)
        return round(self.events * weight / self._history_weight)

    def expected_sessions(self, project_index: int, day_index: int) -> float:
        """Sessions of people (the scraper left out) a project-day gets, on average."""
        people = self.budget(project_index, day_index) - self.heavy_bot_events(project_index,
                                                                                day_index)
        return people / AVG_EVENTS_PER_SESSION

    def new_visitors(self, project_index: int, day_index: int) -> int:
        sessions = self.expected_sessions(project_index, day_index)
        return max(1, round(sessions * NEW_SESSION_SHARE)) if sessions else 0

    @cached_property
    def _first_new(self) -> dict[tuple[int, int], int]:
        return {}

    def first_new_visitor(self, project_index: int, day_index: int) -> int:
        """Index of the first visitor introduced on a day (the count of those before)."""
        key = (project_index, day_index)
        found = self._first_new.get(key)
        if found is None:
            found = self._first_new[key] = sum(
                self.new_visitors(project_index, d) for d in range(day_index))
        return found

    def share_of(self, per_thousand: int, project_index: int, day_index: int
                 ) -> tuple[int, int]:
        """(count, offset): a project-day's part of `per_thousand` of the run's events,
        rounded so the run gets exactly events x per_thousand // 1000; offset is how many
        came before (project-days in order of day, then project), so kinds go in turn."""
        first_day = 0 if day_index < self.days else self.days
        before = sum(self.budget(p, d) for d in range(first_day, day_index + 1)
                     for p in range(len(PROJECTS)) if (d, p) < (day_index, project_index))
        through = before + self.budget(project_index, day_index)
        return (through * per_thousand // 1000 - before * per_thousand // 1000,
                before * per_thousand // 1000)


@dataclass(slots=True)
class Visitor:
    index: int
    anon_id: str
    channel: str                 # a key of the project's channels
    device: devices.Device
    ip: str
    locale: str
    timezone: str
    tz_offset_minutes: int
    offset_times: bool           # Segment times written with the local offset
    skew_ms: int                 # client clock minus real time
    bot: str | None              # crawler name; None for people (and the spoofing scraper)
    bot_pages: tuple[int, int] = (0, 0)
    first_source: str = "direct"  # fb | search | newsletter | referral | direct | app
    signup_stage: int = 0        # on the first visit: 0 none, 1 starts, 2 submits, 3 signs up
    user_id: str | None = None   # once signed up (or logged in on a second device)
    second_device: bool = False  # logs in as an existing user on its first visit
    buyer: float = 1.0           # purchase propensity


def _uuid(rng: Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _user_id(project: ProjectSpec, rng: Random) -> str:
    if project.index == 0:
        return f"cus_{between(rng, 10**7, 10**8)}"
    if project.index == 1:
        return f"pf-{rng.getrandbits(40):010x}"
    return f"usr_{rng.getrandbits(48):012x}"


def _channel(project: ProjectSpec, rng: Random) -> str:
    u = rng.random()
    if project.index == 1:
        return "web" if u < 0.35 else ("android" if u < 0.75 else "ios")
    if project.index == 2:
        return "web" if u < 0.82 else "ios"
    return "web"


def _first_source(project: ProjectSpec, channel: str, rng: Random) -> str:
    if channel in ("android", "ios"):
        return "app"
    web_share = {0: 1.0, 1: 0.35, 2: 0.82}[project.index]
    fb = FB_SESSION_SHARE[project.index]["new"] / (NEW_SESSION_SHARE * web_share)
    u = rng.random()
    if u < fb:
        return "fb"
    u = (u - fb) / (1 - fb)
    for limit, source in ((0.38, "search"), (0.46, "newsletter"), (0.58, "referral")):
        if u < limit:
            return source
    return "direct"


def make_visitor(project: ProjectSpec, seed: int, index: int, *, resolve_links: bool = True
                 ) -> Visitor:
    """Visitor `index` of a project: the same attributes whenever it is asked for."""
    rng = rng_for(seed, 1, project.index, index)
    anon_id = _uuid(rng)
    channel = _channel(project, rng)
    tz_name, tz_offset = pick(rng, project.visitor_timezones)
    locale = pick(rng, project.locales)
    ip = devices.ip_address(rng)
    bot = None
    bot_pages = (0, 0)
    if channel == "web" and project.index != 1 and rng.random() < 0.02:
        bot, device, bot_pages = devices.choose(rng, devices.BOT_TABLE)
        source = "search" if bot in ("googlebot", "bingbot") else "direct"
    else:
        source = _first_source(project, channel, rng)
        if channel in ("android", "ios"):
            device = pick(rng, devices.APP_DEVICES)
        elif source == "fb" and rng.random() < 0.55:
            device = devices.choose(rng, devices.IN_APP_TABLE)
        else:
            device = devices.choose(rng, devices.BROWSER_TABLE)
    visitor = Visitor(index=index, anon_id=anon_id, channel=channel, device=device, ip=ip,
                      locale=locale, timezone=tz_name, tz_offset_minutes=tz_offset,
                      offset_times=False, skew_ms=0, bot=bot, bot_pages=bot_pages,
                      first_source=source)
    if bot:
        return visitor
    if project.index == 2:
        visitor.offset_times = rng.random() < 0.12
        if rng.random() < 0.05:  # a client clock minutes or hours off
            magnitude = between(rng, 120_000, 900_000) if rng.random() < 0.6 else \
                between(rng, 3_600_000, 14_400_000)
            visitor.skew_ms = magnitude if rng.random() < 0.5 else -magnitude
    fb_boost = 1.6 if source == "fb" else 1.0
    u = rng.random()
    if project.index == 1:
        # App users all see onboarding; web visitors start a trial instead.
        if channel != "web":
            visitor.signup_stage = 3 if u < 0.65 else 1
    else:
        start = (0.12 if project.index == 0 else 0.22) * fb_boost
        if u < start:
            v = rng.random()
            visitor.signup_stage = 3 if v < 0.5 else (2 if v < 0.75 else 1)
    user_id = _user_id(project, rng)
    if visitor.signup_stage == 3:
        visitor.user_id = user_id
    visitor.buyer = (0.4 + 1.2 * rng.random()) * fb_boost
    # A second device of an existing user (the Orbit iOS app, or a shopper's phone).
    second = 0.7 if (project.index == 2 and channel == "ios") else (0.04 if project.index == 0
                                                                    else 0.0)
    if resolve_links and index > 0 and rng.random() < second:
        earlier = make_visitor(project, seed, below(rng, index), resolve_links=False)
        if earlier.signup_stage == 3 and earlier.user_id:
            visitor.user_id = earlier.user_id
            visitor.second_device = True
            visitor.signup_stage = 0
    return visitor


def heavy_bot(project: ProjectSpec, seed: int) -> Visitor:
    """The scraper behind a normal Chrome user agent: only its volume gives it away."""
    rng = rng_for(seed, 2, project.index)
    return Visitor(index=HEAVY_BOT_INDEX, anon_id=_uuid(rng), channel="web",
                   device=devices.SPOOFED_SCRAPER, ip=devices.ip_address(rng), locale="en-US",
                   timezone="America/New_York", tz_offset_minutes=-300, offset_times=False,
                   skew_ms=0, bot=None)
