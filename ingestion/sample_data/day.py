"""One project-day of events: the unit of work, independent of every other.

A project-day writes, for each shape the project uses, two part files (as if two
collector nodes had flushed them): each session goes to one part, and about 1% of lines
are sent again into the other part (Segment retries keep the message_id). Malformed lines
are spread over the day at positions drawn up front, their kinds dealt in turn across the
whole run.
"""

from __future__ import annotations

from bisect import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

from ingestion.sample_data import malformed
from ingestion.sample_data.behaviour import ProjectDay, Script
from ingestion.sample_data.catalog import POCKET_PLANS, PROJECTS, SEGMENT
from ingestion.sample_data.draws import below, between, pick
from ingestion.sample_data.population import (
    Plan,
    Visitor,
    heavy_bot,
    make_visitor,
    rng_for,
)
from ingestion.sample_data.shapes import SessionInfo, encode, iso_utc, serialize
from ingestion.sample_data.writer import NdjsonGzWriter

DUPLICATE_RATE = 0.01
LATE_SESSION_SHARE = 0.02      # of sessions of clients that queue offline, sent 1-3 days late
RENEWAL_RATE = 0.004           # Pocket Fitness server-side renewals, per event
RETURN_MEAN_DAYS = 6.0         # returning visitors were first seen about this long ago,
RETURN_ANY_DAY = 0.25          # ... or (this share of them) on any earlier day

# Share of sessions starting in each local hour, 00:00 to 23:00.
_HOURLY = (0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 0.8, 1.4, 2.0, 2.4, 2.6, 2.7,
           2.8, 2.7, 2.6, 2.6, 2.7, 2.9, 3.2, 3.5, 3.6, 3.2, 2.2, 1.2)
_HOURLY_CUMULATIVE = tuple(accumulate(_HOURLY))


@dataclass
class DayResult:
    """What one project-day wrote (summed into the run's GenerationSummary)."""

    project_id: str
    day: str
    events: Counter = field(default_factory=Counter)       # by shape
    malformed: Counter = field(default_factory=Counter)    # by kind
    conversions: Counter = field(default_factory=Counter)  # by event name
    duplicates: int = 0
    sessions: int = 0
    fb_landings: int = 0
    bot_events: int = 0
    heavy_bot: dict | None = None
    late_events: int = 0
    skewed_events: int = 0
    pauses_1800s: int = 0
    pauses_1801s: int = 0
    files: list[tuple[str, int, int]] = field(default_factory=list)  # path, lines, bytes


def day_bounds_ms(plan: Plan, timezone: str, day_index: int) -> tuple[int, int]:
    """The project-local day as [start, end) in epoch ms (23 or 25 hours on DST days)."""
    zone = ZoneInfo(timezone)

    def midnight(index: int) -> int:
        return int(datetime.combine(plan.date_of(index), time(0), zone).timestamp() * 1000)

    return midnight(day_index), midnight(day_index + 1)


class DayWriter:
    """Generates and writes one project-day; call `run()` once."""

    def __init__(self, out_dir: Path, plan: Plan, project_index: int, day_index: int):
        self.out_dir = out_dir
        self.plan = plan
        self.project = PROJECTS[project_index]
        self.day_index = day_index
        self.rng = rng_for(plan.seed, 0, project_index, day_index)
        self.behaviour = ProjectDay(self.project, plan, day_index)
        self.start_ms, self.end_ms = day_bounds_ms(plan, self.project.timezone, day_index)
        self.date = plan.date_of(day_index).isoformat()
        self.result = DayResult(self.project.project_id, self.date)
        self.remaining = plan.budget(project_index, day_index)
        self.visitors: dict[int, Visitor] = {}
        self.writers: dict[tuple[str, int], NdjsonGzWriter] = {}
        count, offset = plan.share_of(malformed.MALFORMED_PER_THOUSAND, project_index,
                                      day_index)
        self.malformed_kinds = [malformed.KINDS[(offset + i) % len(malformed.KINDS)]
                                for i in range(count)]
        budget = self.remaining
        self.malformed_at = sorted(below(self.rng, max(budget, 1)) for _ in range(count))
        # One line over 1 MB in the whole history: Orbit's second day.
        oversize_day = (2, min(1, plan.days - 1))
        self.oversize_at = budget // 2 if (project_index, day_index) == oversize_day else None
        self.written = 0

    # -- visitors and times ---------------------------------------------------------------

    def visitor(self, index: int) -> Visitor:
        found = self.visitors.get(index)
        if found is None:
            found = self.visitors[index] = make_visitor(self.project, self.plan.seed, index)
        return found

    def returning_index(self, day_index: int) -> int:
        """A visitor first seen on or before `day_index`, recent cohorts more likely."""
        rng, plan, project = self.rng, self.plan, self.project.index
        if rng.random() < RETURN_ANY_DAY:
            cohort = below(rng, day_index + 1)
        else:
            cohort = day_index - min(int(rng.expovariate(1 / RETURN_MEAN_DAYS)), day_index)
        count = plan.new_visitors(project, cohort)
        return plan.first_new_visitor(project, cohort) + (below(rng, count) if count else 0)

    def start_time(self, start_ms: int, end_ms: int) -> int:
        rng = self.rng
        hour = bisect(_HOURLY_CUMULATIVE, rng.random() * _HOURLY_CUMULATIVE[-1])
        offset = (min(hour, 23) + rng.random()) / 24
        return start_ms + int(offset * (end_ms - start_ms))

    # -- output ---------------------------------------------------------------------------

    def writer(self, shape: str, part: int) -> NdjsonGzWriter:
        found = self.writers.get((shape, part))
        if found is None:
            path = (self.out_dir / "landing" / self.project.project_id / shape
                    / f"{self.date}-{part}.ndjson.gz")
            found = self.writers[(shape, part)] = NdjsonGzWriter(path)
        return found

    def emit(self, script: Script, session: SessionInfo, part: int, *, bot: bool = False
             ) -> int:
        """Write a session's events (cut to the day's remaining budget); returns how many."""
        rng = self.rng
        events = script.events[: self.remaining]
        channels = self.project.channels
        result = self.result
        conversions = self.project.conversion_events
        skewed = session.visitor.skew_ms != 0
        for ev in events:
            shape, key = channels[ev[5]]
            line = serialize(shape, ev, session, key, rng)
            text = encode(line)
            out = self.writer(shape, part)
            out.write(text)
            result.events[shape] += 1
            if ev[1] == "track" and ev[2] in conversions:
                result.conversions[ev[2]] += 1
            if skewed and shape == SEGMENT:
                result.skewed_events += 1
            if rng.random() < DUPLICATE_RATE:
                if shape == SEGMENT and rng.random() < 0.5:  # a retry: same message_id
                    line = {**line, "received_at": iso_utc(ev[0] + between(rng, 10_000, 600_000))}
                    text = encode(line)
                self.writer(shape, 1 - part).write(text)
                result.duplicates += 1
            self.written += 1
            while self.malformed_at and self.malformed_at[0] < self.written:
                self.malformed_at.pop(0)
                kind = self.malformed_kinds.pop(0)
                out.write(malformed.malformed_line(kind, shape, line, rng))
                result.malformed[kind] += 1
            if self.oversize_at is not None and self.written > self.oversize_at:
                self.oversize_at = None
                out.write(malformed.oversize_line(line))
                result.malformed[malformed.OVERSIZE] += 1
        self.remaining -= len(events)
        if events:
            result.sessions += 1
            if bot:
                result.bot_events += len(events)
            if session.flush_ms is not None:
                result.late_events += len(events)
            if len(events) == len(script.events):
                result.pauses_1800s += script.edge == 1_800_000
                result.pauses_1801s += script.edge == 1_801_000
        return len(events)

    def session_info(self, visitor: Visitor, script: Script, flush_ms: int | None = None
                     ) -> SessionInfo:
        rng = self.rng
        if self.project.index == 1 and visitor.channel == "web":
            client_id = visitor.anon_id  # the analytics server's session id is its cookie
        elif visitor.channel == "web" and self.project.index == 0:
            client_id = f"{rng.getrandbits(64):016x}"
        else:
            client_id = str(script.events[0][0]) if script.events else "0"
        return SessionInfo(visitor, client_id, between(rng, 40, 900), flush_ms)

    # -- the day --------------------------------------------------------------------------

    def run(self) -> DayResult:
        try:
            self._specials()
            self._sessions()
        finally:
            for _, out in sorted(self.writers.items()):
                size = out.close()
                relative = out.path.relative_to(self.out_dir).as_posix()
                self.result.files.append((relative, out.lines, size))
        return self.result

    def _play(self, visitor: Visitor, start_ms: int, first: bool, flush_ms: int | None = None,
              behaviour: ProjectDay | None = None) -> None:
        behaviour = behaviour or self.behaviour
        script, source, ad = behaviour.session(visitor, start_ms, first, self.rng)
        if flush_ms is not None and script.events:
            flush_ms = max(flush_ms, script.events[-1][0] + 60_000)
        part = 0 if self.rng.random() < 0.72 else 1
        written = self.emit(script, self.session_info(visitor, script, flush_ms), part,
                            bot=visitor.bot is not None)
        if written and ad is not None:
            self.result.fb_landings += 1

    def _specials(self) -> None:
        rng = self.rng
        plan, project = self.plan, self.project
        if plan.heavy_bot_events(project.index, self.day_index):
            bot = heavy_bot(project, plan.seed)
            start = self.start_ms + 8 * 3_600_000 + below(rng, 3_600_000)
            script = self.behaviour.heavy_bot_session(bot, start, rng)
            written = self.emit(script, SessionInfo(bot, f"{rng.getrandbits(64):016x}", 100,
                                                    None), 0, bot=True)
            self.result.heavy_bot = {"project_id": project.project_id, "date": self.date,
                                     "anonymous_id": bot.anon_id, "events": written}
        expected = plan.expected_sessions(project.index, self.day_index)
        if project.index in (1, 2) and self.day_index >= 1:
            for _ in range(round(expected * LATE_SESSION_SHARE)):
                lateness = rng.randint(1, min(3, self.day_index))
                then = self.day_index - lateness
                visitor = self.visitor(self.returning_index(then))
                if visitor.bot or visitor.channel == "web" and project.index == 1 \
                        or self.remaining <= 0:
                    continue
                start, end = day_bounds_ms(plan, project.timezone, then)
                flush = self.start_ms + below(rng, 14 * 3_600_000)
                self._play(visitor, self.start_time(start, end), False, flush,
                           ProjectDay(project, plan, then))  # the ads running back then
        if project.index == 1:
            for _ in range(round(plan.budget(project.index, self.day_index) * RENEWAL_RATE)):
                visitor = self.visitor(self.returning_index(self.day_index))
                if not visitor.user_id or self.remaining <= 0:
                    continue
                plan_name, price = pick(rng, POCKET_PLANS)
                script = Script(rng, self.start_time(self.start_ms, self.end_ms), visitor.user_id,
                                edge=False)
                script.add("track", "subscription_renewed",
                           props={"plan": plan_name, "billing_amount": price})
                self.emit(script, SessionInfo(visitor, "", 0, None), 0)

    def _sessions(self) -> None:
        rng = self.rng
        plan, index = self.plan, self.project.index
        first = plan.first_new_visitor(index, self.day_index)
        new = plan.new_visitors(index, self.day_index)
        returning = max(0, round(plan.expected_sessions(index, self.day_index) * 1.05) - new)
        slots = [first + i for i in range(new)] + [-1] * returning
        rng.shuffle(slots)
        slots.reverse()  # popped from the end
        while self.remaining > 0:
            slot = slots.pop() if slots else -1
            is_first = slot >= 0
            visitor = self.visitor(slot if is_first else self.returning_index(self.day_index))
            self._play(visitor, self.start_time(self.start_ms, self.end_ms), is_first)


def write_day(out_dir: Path, plan: Plan, project_index: int, day_index: int) -> DayResult:
    return DayWriter(out_dir, plan, project_index, day_index).run()


