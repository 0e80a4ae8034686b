"""`beacon bench`: the speed targets of SPEC 8, measured against baselines of the same run.

Steps, all on a scratch database `beacon_bench` of the warehouse server:
1. generate N events over D days, plus one more day for the incremental run;
2. the floor: `zcat FILE | psql -c "COPY ..."` of the same files into a one-column jsonb table;
3. ingestion with the real loader, in a child process whose peak RSS is sampled, then the floor
   again: the ratio takes the mean of the two floors, the floor's speed at about the time the
   loader ran, should the machine's speed drift. Each of the three starts with no dirty pages
   left by the one before (CHECKPOINT, then sync), and raw.events' autovacuum waits until the
   second floor is done, so that neither floor shares the machine with the loader's upkeep;
4. a whole build of all marts (full refresh), then a build with nothing new (fixed overhead);
   each timed build starts on a settled database: the last step's new rows vacuumed (else
   autovacuum does it during the build; on a daily schedule it is long done), then
   CHECKPOINT and sync;
5. the extra day loaded, then an incremental build;
6. a reference day loaded, then an incremental build: the next day's events of one visitor in
   N / 1M, so about the events of a 1M run's day whatever N. Its time at 10M against its time
   at 1M shows whether an incremental run grows with the history (SPEC 8: at most 1.5x).
A CPU check (a fixed Python loop) runs before the run, after it, and right before each timed
build: the table warns when the checks before the two builds the incremental ratio divides
disagree (the machine's spell changed between them). Writes `bench/results/latest.json` and
prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil
import psycopg

from ingestion.config import REPO_ROOT, Settings
from ingestion.facebook_ads.fake_graph_api import FakeGraphApi
from ingestion.postgres import connection, embedded_bin_path, warehouse_dsn, with_database
from orchestration.commands.progress import say

BENCH_DB = "beacon_bench"
REFERENCE_EVENTS = 1_000_000  # the run whose day size the reference day has
SLOWEST_NODES = 5  # dbt nodes named in the profile of each build
# A CPU check this many times another: a different spell of the machine, not the check's own
# noise (back to back on one spell, checks differ by up to ~1.35x).
SPEED_DRIFT = 1.4
BEACON = ["-m", "orchestration.cli"]
FLOOR_COPY = (
    "COPY bench_floor(payload) FROM STDIN WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
)


def main(args: argparse.Namespace) -> int:
    from ingestion.sample_data import generate

    settings = Settings.from_env()
    work = settings.home / "bench" / f"{args.events}x{args.days}"
    if not (work / "summary.json").exists():
        say(f"generating {args.events:,} events over {args.days} days ...")
        generate(work, events=args.events, days=args.days, seed=7, progress=say)
    summary = json.loads((work / "summary.json").read_text())
    if not (work / "reference" / "landing").exists():
        say("generating the two days after them ...")
        generate(work / "extra", events=args.events, days=args.days, seed=7, extra_days=2,
                 progress=say)
        end = date.fromisoformat(summary["end_date"])
        one_day(work / "extra" / "landing", end + timedelta(days=1), work / "next" / "landing")
        one_day(work / "extra" / "landing", end + timedelta(days=2),
                work / "reference" / "landing", max(1, args.events // REFERENCE_EVENTS))
    dsn = _fresh_database(warehouse_dsn(settings))
    env = _bench_env(dsn, work, summary)
    cpu_check_before = cpu_check_s()

    history_files = sorted((work / "landing").rglob("*.ndjson.gz"))
    lines = sum(_count_lines(f) for f in history_files)
    floor_files, floor_lines = _floor_files(history_files, work / "floor")
    say(f"floor: zcat | psql COPY of {len(floor_files)} files, {floor_lines:,} lines ...")
    floor_runs_s = [_floor(dsn, floor_files)]
    say("ingestion: the Beacon loader ...")
    _settle(dsn)
    ingest_s, peak_mb = _timed_child(["-m", "ingestion.events", str(work / "landing")], env)
    say("the floor again, after the loader ...")
    with _autovacuum_paused(dsn, "raw.events"):
        floor_runs_s.append(_floor(dsn, floor_files))
    floor_s = sum(floor_runs_s) / len(floor_runs_s)
    say("Facebook insights from the fake Graph API (not timed) ...")
    with FakeGraphApi(work / "facebook", access_token="bench-token", async_polls=0) as api:
        fb_env = {**env, "META_GRAPH_URL": api.url, "META_ACCESS_TOKEN": "bench-token"}
        _timed_child(
            BEACON
            + [
                "ingest",
                "facebook",
                "--since",
                summary["start_date"],
                "--until",
                summary["end_date"],
            ],
            fb_env,
        )
    # Of each timed build: its seconds, dbt's profile of it, the CPU check just before it.
    seconds, profile, checks = {}, {}, {}

    def timed_build(name: str, flags: list[str]) -> None:
        seconds[name], profile[name], checks[name] = _timed_build(flags, env, dsn)

    say("whole build (full refresh) ...")
    timed_build("full_build", ["--full-refresh"])
    say("build with nothing new (fixed overhead) ...")
    timed_build("fixed_overhead", [])
    say("one more day: load, then incremental build ...")
    _timed_child(["-m", "ingestion.events", str(work / "next" / "landing")], env)
    timed_build("incremental_build", [])
    say("a reference day (a 1M run's day of events): load, then incremental build ...")
    _timed_child(["-m", "ingestion.events", str(work / "reference" / "landing")], env)
    timed_build("incremental_reference_day", [])

    report = {
        "events": args.events,
        "days": args.days,
        "lines": lines,
        "floor_s": round(floor_s, 2),
        "floor_runs_s": [round(run, 2) for run in floor_runs_s],  # before and after the loader
        "floor_lines": floor_lines,
        "floor_events_per_s": round(floor_lines / floor_s),
        "ingest_s": round(ingest_s, 2),
        "ingest_events_per_s": round(lines / ingest_s),
        "ingest_vs_floor": round((lines / ingest_s) / (floor_lines / floor_s), 3),
        "ingest_peak_rss_mb": round(peak_mb),
        "full_build_s": round(seconds["full_build"], 2),
        "fixed_overhead_s": round(seconds["fixed_overhead"], 2),
        "incremental_build_s": round(seconds["incremental_build"], 2),
        "incremental_vs_full": round(seconds["incremental_build"] / seconds["full_build"], 3),
        "reference_day_events": _count_lines_under(work / "reference" / "landing"),
        "incremental_reference_day_s": round(seconds["incremental_reference_day"], 2),
        "profile": profile,
        "machine": _machine(dsn),
        "cpu_check_s": [round(cpu_check_before, 2), round(cpu_check_s(), 2)],
        "cpu_check_before_s": {build: round(check, 2) for build, check in checks.items()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(report)
    for name in ("latest", str(args.events)):
        (args.out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / f"{name}.md").write_text(table)
    print(table)
    return 0


def markdown_table(report: dict) -> str:
    rows = [
        ("events", f"{report['events']:,}", ""),
        ("floor (zcat \\| psql COPY)", f"{report['floor_events_per_s']:,} ev/s",
         "mean of {} s before the loader and {} s after".format(*report["floor_runs_s"])),
        (
            "ingestion",
            f"{report['ingest_events_per_s']:,} ev/s",
            f"{report['ingest_vs_floor']:.2f} of floor (target >= 0.70)",
        ),
        ("ingestion peak RSS", f"{report['ingest_peak_rss_mb']} MB", "target < 500 MB"),
        ("whole build", f"{report['full_build_s']} s", "target < 60 s at 1M, < 360 s at 10M"),
        ("build with nothing new", f"{report['fixed_overhead_s']} s", "fixed overhead"),
        (
            "incremental build (+1 day)",
            f"{report['incremental_build_s']} s",
            f"{report['incremental_vs_full']:.2f} of whole (target < 0.40 at 1M, < 0.15 at 10M)",
        ),
        (
            f"incremental build (reference day, {report['reference_day_events']:,} lines)",
            f"{report['incremental_reference_day_s']} s",
            "10M's at most 1.5x 1M's",
        ),
    ]
    lines = ["| measure | value | against target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", "Where the time goes (dbt's own seconds in each build, its slowest nodes):", ""]
    for build, spent in report.get("profile", {}).items():
        slowest = ", ".join(f"{name} {seconds}" for name, seconds in spent["slowest"].items())
        lines.append(f"- {build.replace('_', ' ')}: dbt {spent['dbt_s']} s; {slowest}")
    before, after = report["cpu_check_s"]
    lines += [
        "",
        f"Machine: {report['machine']}",
        f"CPU check (`sum(range(10**8))` in Python): {before} s before the run, {after} s after",
    ]
    return "\n".join(lines + _speed_drift_warning(report)) + "\n"


def _speed_drift_warning(report: dict) -> list[str]:
    """A line when the machine's speed changed between the two builds a ratio divides: the
    ratio then mixes two speeds, and a miss may be the machine's, not the build's."""
    checks = report["cpu_check_before_s"]
    full, incremental = checks["full_build"], checks["incremental_build"]
    if max(full, incremental) / min(full, incremental) < SPEED_DRIFT:
        return []
    return [
        f"Warning: the machine's speed changed between the whole build (CPU check {full} s "
        f"before it) and the incremental one ({incremental} s): re-run on a steady spell "
        "before reading the incremental ratio."
    ]


def cpu_check_s() -> float:
    """Seconds a fixed pure-Python loop takes: shared machines run at different speeds from
    hour to hour (here 1.2 s on fast spells, up to 2.6 s on slow ones), so results carry it."""
    started = time.perf_counter()
    sum(range(10**8))
    return time.perf_counter() - started


def last_dbt_profile(target: Path | None = None, slowest: int = SLOWEST_NODES) -> dict:
    """dbt's own time in the newest build (the run_results.json of its invocation folder) and
    its slowest nodes; the rest of a build's time is Python, Dagster and dbt starting up."""
    from orchestration.dbt_project import TARGET_DIR, invocation_folders

    runs = [f / "run_results.json" for f in invocation_folders(target or TARGET_DIR)]
    runs = [path for path in runs if path.exists()]
    if not runs:
        return {"dbt_s": None, "slowest": {}}
    results = json.loads(runs[0].read_text())
    nodes = sorted(results["results"], key=lambda node: -node["execution_time"])[:slowest]
    return {
        "dbt_s": round(results["elapsed_time"], 1),
        "slowest": {
            node["unique_id"].split(".", 2)[-1]: round(node["execution_time"], 1) for node in nodes
        },
    }


def _fresh_database(server_dsn: str) -> str:
    with connection(with_database(server_dsn, "postgres"), autocommit=True) as conn:
        conn.execute(f"drop database if exists {BENCH_DB} with (force)")
        conn.execute(f"create database {BENCH_DB}")
    return with_database(server_dsn, BENCH_DB)


def _bench_env(dsn: str, work: Path, summary: dict) -> dict[str, str]:
    # After the two extra days (local days reach a day past their UTC date at most).
    last = datetime.fromisoformat(summary["end_date"]) + timedelta(days=3)
    return {
        **os.environ,
        "WAREHOUSE_DSN": dsn,
        "BEACON_PROJECTS_FILE": str(work / "projects.yml"),
        "BEACON_NOW": last.replace(tzinfo=UTC).isoformat(),
        "DAGSTER_HOME": str(work / "dagster"),
    }


def one_day(landing: Path, day: date, out: Path, one_in: int = 1) -> None:
    """The files of `day` under `landing`, copied under `out` with the lines of one visitor
    in `one_in` (whole visitors, so that each brings its history along as a real day's would)."""
    for path in sorted(landing.rglob(f"{day.isoformat()}-*.ndjson.gz")):
        target = out / path.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "rb") as reader, gzip.open(target, "wb", compresslevel=1) as writer:
            for line in reader:
                if zlib.crc32(visitor_of(line)) % one_in == 0:
                    writer.write(line)


def visitor_of(line: bytes) -> bytes:
    """The id a line's visitor goes by (SPEC 3.2's anonymous_id, near enough), else the line."""
    try:
        event = json.loads(line)
    except ValueError:
        return line
    if isinstance(event, dict):
        for key in ("visitor_key", "anonymous_id", "user_id", "session_id"):
            if isinstance(event.get(key), str):
                return event[key].encode()
    return line


def _count_lines_under(landing: Path) -> int:
    return sum(_count_lines(path) for path in landing.rglob("*.ndjson.gz"))


def _count_lines(path: Path) -> int:
    with gzip.open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _floor_files(files: list[Path], out: Path) -> tuple[list[Path], int]:
    """The same files without the lines a jsonb COPY rejects (the sample's ~0.5% malformed
    lines would abort it): the floor loads everything else, as the loader does."""
    copies = [out / f"{n:05d}.ndjson.gz" for n in range(len(files))]
    done = out / "lines"
    if done.exists():
        return copies, int(done.read_text())
    out.mkdir(parents=True, exist_ok=True)
    kept = 0
    for source, copy in zip(files, copies, strict=True):
        with gzip.open(source, "rb") as reader, gzip.open(copy, "wb", compresslevel=1) as writer:
            for line in reader:
                if _jsonb_accepts(line):
                    writer.write(line)
                    kept += 1
    done.write_text(str(kept))
    return copies, kept


def _jsonb_accepts(line: bytes) -> bool:
    try:
        text = line.decode("utf-8")
        json.loads(text)
    except ValueError:
        return False
    return "\\u0000" not in text and bool(text.strip())


def _timed_build(flags: list[str], env: dict[str, str], dsn: str) -> tuple[float, dict, float]:
    """`beacon build FLAGS` on a settled database: its seconds, dbt's profile of it, and the CPU
    check taken just before it (after the settling, which has its own pace)."""
    _settle(dsn, vacuum=True)
    check = cpu_check_s()
    seconds, _ = _timed_child(BEACON + ["build", *flags], env)
    return seconds, last_dbt_profile(), check


def _settle(dsn: str, vacuum: bool = False) -> None:
    """Write out what the last step left dirty, in PostgreSQL's buffers and the kernel's; with
    `vacuum`, first vacuum what autovacuum would otherwise vacuum during the next step."""
    with connection(dsn, autocommit=True) as conn:
        if vacuum:
            conn.execute("vacuum")
        # On a server where this login may not CHECKPOINT, its writes go on in the background.
        with suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("checkpoint")
    os.sync()


@contextmanager
def _autovacuum_paused(dsn: str, table: str) -> Iterator[None]:
    """No autovacuum of `table` meanwhile. Setting the option waits for a running one to give
    way (autovacuum cancels itself after deadlock_timeout when a lock request waits for it)."""
    with connection(dsn, autocommit=True) as conn:
        conn.execute(f"alter table {table} set (autovacuum_enabled = off)")
    try:
        yield
    finally:
        with connection(dsn, autocommit=True) as conn:
            conn.execute(f"alter table {table} reset (autovacuum_enabled)")


def _floor(dsn: str, files: list[Path]) -> float:
    """One `zcat FILES | psql COPY` pipeline into a one-column jsonb table."""
    psql = str(embedded_bin_path() / "psql")
    with connection(dsn, autocommit=True) as conn:
        conn.execute("drop table if exists bench_floor")
        conn.execute("create table bench_floor (payload jsonb)")
    _settle(dsn)
    names = " ".join(shlex.quote(str(path)) for path in files)
    command = (
        f"zcat {names} | {psql} {shlex.quote(dsn)} -q -v ON_ERROR_STOP=1"
        f" -c {shlex.quote(FLOOR_COPY)}"
    )
    started = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True)
    elapsed = time.perf_counter() - started
    with connection(dsn, autocommit=True) as conn:
        conn.execute("drop table bench_floor")
    return elapsed


def _timed_child(python_args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run `python ARGS` in a child process; wall seconds and peak RSS (MB, with its children)."""
    command = [sys.executable, *python_args]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=REPO_ROOT)
    watched = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            family = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in family if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        from ingestion.errors import BeaconError

        raise BeaconError(f"bench step `python {' '.join(python_args)}` failed")
    return elapsed, peak / 1e6


def _machine(dsn: str) -> str:
    with connection(dsn) as conn:
        server = conn.execute("show server_version").fetchone()[0]
    memory_gb = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.machine()}, {psutil.cpu_count()} cores, {memory_gb:.0f} GB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"PostgreSQL {server}"
    )
