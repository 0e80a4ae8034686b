"""`generate()`: the whole sample data set, project-day by project-day, in parallel.

Each project-day is generated from its own random stream (see `population.rng_for`) and
written to its own files, so the output is byte-identical whatever the number of worker
processes, and memory stays flat however many events are asked for.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import date
from multiprocessing import get_context
from pathlib import Path

from ingestion.errors import BeaconError
from ingestion.sample_data.catalog import PROJECTS, projects_yaml
from ingestion.sample_data.day import DayResult, write_day
from ingestion.sample_data.facebook import write_fixtures
from ingestion.sample_data.population import Plan

DEFAULT_END_DATE = date(2026, 10, 31)
PARALLEL_FROM_EVENTS = 100_000  # below this, worker start-up costs more than it saves


@dataclass
class GenerationSummary:
    """What a run wrote. Written as `summary.json` (`summary-extra.json` for extra days)."""

    seed: int
    days: int
    extra_days: int
    start_date: str            # first and last project-local day of the event files
    end_date: str
    history_start_date: str
    history_end_date: str
    events: int                # distinct well-formed events (== --events for the history)
    lines: int                 # every line written: events + duplicates + malformed
    duplicate_lines: int
    malformed_lines: int
    files: int
    bytes: int
    visitors: int              # visitor population introduced up to end_date
    sessions: int
    fb_landing_sessions: int
    bot_events: int
    late_events: int
    skewed_events: int
    pauses_1800s: int          # sessions with one pause of exactly 30:00 (stay one session)
    pauses_1801s: int          # ... of exactly 30:01 (split in two)
    heavy_bot: dict | None
    events_by_shape: dict[str, int] = field(default_factory=dict)
    events_by_project: dict[str, int] = field(default_factory=dict)
    malformed_by_kind: dict[str, int] = field(default_factory=dict)
    conversions: dict[str, int] = field(default_factory=dict)
    ad_accounts: list[dict] = field(default_factory=list)
    ad_account_mismatch: str = ""

    def __str__(self) -> str:
        return (f"{self.events:,} events ({self.lines:,} lines with {self.duplicate_lines:,}"
                f" duplicates and {self.malformed_lines:,} malformed) in {self.files} files,"
                f" {self.start_date}..{self.end_date}")


def _check(events: int, days: int, extra_days: int) -> None:
    if events < 1:
        raise BeaconError(f"--events must be at least 1, got {events}")
    if days < 1:
        raise BeaconError(f"--days must be at least 1, got {days}")
    if extra_days < 0:
        raise BeaconError(f"--extra-days cannot be negative, got {extra_days}")


def generate(
    out_dir: Path,
    *,
    events: int,
    days: int = 60,
    seed: int = 42,
    end_date: date = DEFAULT_END_DATE,
    extra_days: int = 0,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> GenerationSummary:
    """Write sample events, the projects registry and Facebook fixtures under `out_dir`.

    With `extra_days=K`, write only the K days after `end_date` (same visitors, projects
    and ads, about events/days events a day), for incremental runs on top of a history
    generated with the same arguments; the Facebook fixtures then cover both.
    """
    _check(events, days, extra_days)
    out_dir = Path(out_dir)
    plan = Plan(events=events, days=days, seed=seed, end_date=end_date)
    day_indexes = range(days, days + extra_days) if extra_days else range(days)
    units = [(p.index, d) for d in day_indexes for p in PROJECTS]
    if workers is None:
        workers = 1 if events < PARALLEL_FROM_EVENTS else min(os.cpu_count() or 1, 4)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "projects.yml").write_text(projects_yaml())
        results = _run_units(out_dir, plan, units, workers, progress)
        accounts = write_fixtures(out_dir, plan, day_indexes[-1])
        summary = _summarise(plan, extra_days, [results[u] for u in units], accounts)
        name = "summary-extra.json" if extra_days else "summary.json"
        (out_dir / name).write_text(json.dumps(asdict(summary), indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        where = exc.filename or out_dir
        raise BeaconError(f"cannot write sample data to {where}: {exc.strerror or exc}") from exc
    return summary


def _run_units(out_dir: Path, plan: Plan, units: list[tuple[int, int]], workers: int,
               progress: Callable[[str], None] | None) -> dict[tuple[int, int], DayResult]:
    results: dict[tuple[int, int], DayResult] = {}
    step = max(1, len(units) // 10)

    def done(unit: tuple[int, int], result: DayResult) -> None:
        results[unit] = result
        if progress and (len(results) % step == 0 or len(results) == len(units)):
            written = sum(sum(r.events.values()) for r in results.values())
            progress(f"sample data: {len(results)}/{len(units)} project-days,"
                     f" {written:,} events")

    if workers <= 1:
        for unit in units:
            done(unit, write_day(out_dir, plan, *unit))
        return results
    # Biggest days first, so the last ones to finish are small (no idle worker at the end).
    ordered = sorted(units, key=lambda u: -plan.budget(*u))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(write_day, out_dir, plan, *unit): unit for unit in ordered}
        for future in as_completed(futures):
            done(futures[future], future.result())
    return results


def _summarise(plan: Plan, extra_days: int, results: list[DayResult],
               accounts: list[dict]) -> GenerationSummary:
    by_shape: Counter = Counter()
    by_kind: Counter = Counter()
    conversions: Counter = Counter()
    by_project: Counter = Counter()
    for r in results:
        by_shape.update(r.events)
        by_kind.update(r.malformed)
        conversions.update(r.conversions)
        by_project[r.project_id] += sum(r.events.values())
    files = [f for r in results for f in r.files]
    events = sum(by_shape.values())
    duplicates = sum(r.duplicates for r in results)
    malformed = sum(by_kind.values())
    last = plan.days + extra_days - 1
    mismatched = [a for a in accounts if not a["matches_project"]]
    return GenerationSummary(
        seed=plan.seed,
        days=plan.days,
        extra_days=extra_days,
        start_date=results[0].day,
        end_date=results[-1].day,
        history_start_date=plan.start_date.isoformat(),
        history_end_date=plan.end_date.isoformat(),
        events=events,
        lines=sum(lines for _, lines, _ in files),
        duplicate_lines=duplicates,
        malformed_lines=malformed,
        files=len(files),
        bytes=sum(size for _, _, size in files),
        visitors=sum(plan.first_new_visitor(p.index, last + 1) for p in PROJECTS),
        sessions=sum(r.sessions for r in results),
        fb_landing_sessions=sum(r.fb_landings for r in results),
        bot_events=sum(r.bot_events for r in results),
        late_events=sum(r.late_events for r in results),
        skewed_events=sum(r.skewed_events for r in results),
        pauses_1800s=sum(r.pauses_1800s for r in results),
        pauses_1801s=sum(r.pauses_1801s for r in results),
        heavy_bot=next((r.heavy_bot for r in results if r.heavy_bot), None),
        events_by_shape=dict(sorted(by_shape.items())),
        events_by_project=dict(sorted(by_project.items())),
        malformed_by_kind=dict(sorted(by_kind.items())),
        conversions=dict(sorted(conversions.items())),
        ad_accounts=accounts,
        ad_account_mismatch="; ".join(
            f"{a['id']} ({a['project_id']}) reports in {a['timezone']} / {a['currency']},"
            f" unlike its project" for a in mismatched),
    )
