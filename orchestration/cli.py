"""`beacon`: the command line. Parses arguments and hands each command to the module that owns it.

Every failure ends as one human line on stderr and a non-zero exit; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from ingestion.errors import BeaconError
from orchestration.gc_tuning import collect_less


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer: {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="beacon", description="Beacon: product events and ad spend into PostgreSQL marts."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="the warehouse database")
    db_actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_actions.add_parser("start", help="start the embedded PostgreSQL (reused if running)")
    db_actions.add_parser("stop", help="stop the embedded PostgreSQL")
    db_actions.add_parser("url", help="print the warehouse DSN")
    db_actions.add_parser("env", help="print `export` lines for dbt run by hand")
    db_actions.add_parser("psql", help="open psql on the warehouse")
    login = db_actions.add_parser(
        "analyst-login", help="create a BI login in the read-only beacon_analyst role"
    )
    login.add_argument("--name", default="beacon_bi", help="login role name (default beacon_bi)")

    sample = commands.add_parser("sample-data", help="write deterministic sample data")
    sample.add_argument("--events", type=_positive, default=100_000)
    sample.add_argument("--days", type=_positive, default=60)
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument(
        "--extra-days",
        type=int,
        default=0,
        help="write only the N days after the history (for incremental runs)",
    )
    sample.add_argument("--out", type=Path, default=Path("data/sample"))

    ingest = commands.add_parser("ingest", help="load raw data (through Dagster)")
    sources = ingest.add_subparsers(dest="source", required=True, metavar="SOURCE")
    events = sources.add_parser("events", help="load event files from the landing directory")
    events.add_argument("--landing", type=Path, help="default: BEACON_LANDING_DIR")
    facebook = sources.add_parser("facebook", help="load Facebook ad insights")
    facebook.add_argument("--since", type=_date)
    facebook.add_argument("--until", type=_date)
    facebook.add_argument("--csv", type=Path, help="load an Ads Manager CSV export instead")
    facebook.add_argument("--account", help="ad account id of the CSV (if not in the file)")

    build = commands.add_parser("build", help="build dbt models and run their tests")
    build.add_argument("--full-refresh", action="store_true")
    build.add_argument("--select", nargs="+", help="dbt selection, e.g. fct_sessions+")

    run = commands.add_parser("run", help="everything: ingestion, then the dbt build")
    run.add_argument("--since", type=_date, help="first Facebook day (default: 28 days back)")
    run.add_argument("--until", type=_date, help="last Facebook day (default: yesterday)")
    run.add_argument("--full-refresh", action="store_true")

    commands.add_parser("demo", help="sample data, a fake Graph API and the whole pipeline")
    commands.add_parser("summary", help="print row counts of every mart and top metrics")

    bench = commands.add_parser("bench", help="measure ingestion and build speed (SPEC 8)")
    bench.add_argument("--events", type=_positive, default=1_000_000)
    bench.add_argument("--days", type=_positive, default=60)
    bench.add_argument("--out", type=Path, default=Path("bench/results"))
    return parser


def _handlers() -> dict[str, Callable[[argparse.Namespace], int | None]]:
    # Imported lazily: `beacon db url` should not pay for importing Dagster.
    from orchestration.commands import bench, database, pipeline, sample

    return {
        "db": database.main,
        "sample-data": sample.main,
        "ingest": pipeline.ingest,
        "build": pipeline.build,
        "run": pipeline.run,
        "demo": pipeline.demo,
        "summary": pipeline.summary,
        "bench": bench.main,
    }


def main(argv: Sequence[str] | None = None) -> int:
    collect_less()
    args = build_parser().parse_args(argv)
    if args.debug:
        os.environ["BEACON_DEBUG"] = "1"  # runs then show Dagster's and dbt's full logs
    try:
        return _handlers()[args.command](args) or 0
    except BeaconError as exc:
        print(f"beacon: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("beacon: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a one-line error
        if args.debug or os.environ.get("BEACON_DEBUG"):
            traceback.print_exc()
        first_line = (str(exc).strip().splitlines() or [""])[0]
        print(
            f"beacon: error: {type(exc).__name__}: {first_line} (--debug for details)",
            file=sys.stderr,
        )
        return 1
    if args.debug:
        traceback.print_exc()
    return 1


if __name__ == "__main__":
    sys.exit(main())
