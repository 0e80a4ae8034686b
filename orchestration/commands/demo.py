"""`beacon demo` (`make demo`): sample data, a local fake Graph API, the whole pipeline, a summary.

The sample data goes to `data/` (events under `data/landing`, the default landing directory),
so `make dev` afterwards shows the same warehouse. "Now" is pinned to the day after the
sample's last day, so every run of the demo gives the same marts.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

from ingestion.config import REPO_ROOT, Settings
from ingestion.facebook_ads.fake_graph_api import FakeGraphApi
from ingestion.postgres import warehouse_dsn
from orchestration.commands import pipeline
from orchestration.commands.progress import say
from orchestration.summary import print_summary

DEMO_EVENTS = 200_000
DEMO_DAYS = 60
DEMO_SEED = 42
DEMO_TOKEN = "demo-token-not-a-secret"


def run_demo() -> None:
    settings = Settings.from_env()
    out = REPO_ROOT / "data"
    summary_file = out / "summary.json"
    if not summary_file.exists():
        from ingestion.sample_data import generate

        say(f"writing sample data ({DEMO_EVENTS:,} events over {DEMO_DAYS} days) to {out} ...")
        generate(out, events=DEMO_EVENTS, days=DEMO_DAYS, seed=DEMO_SEED, progress=say)
    first_day, last_day = _sample_days(json.loads(summary_file.read_text()))
    os.environ.setdefault("BEACON_NOW", f"{last_day + timedelta(days=1)}T06:00:00+00:00")
    os.environ["BEACON_LANDING_DIR"] = str(out / "landing")
    os.environ["BEACON_PROJECTS_FILE"] = str(out / "projects.yml")
    say(f"warehouse: {warehouse_dsn(settings)}")
    # Report runs finish at once here: a real account takes seconds to minutes.
    with FakeGraphApi(out / "facebook", access_token=DEMO_TOKEN, async_polls=0) as graph_api:
        os.environ["META_GRAPH_URL"] = graph_api.url
        os.environ["META_ACCESS_TOKEN"] = DEMO_TOKEN
        say(f"fake Graph API serving {out / 'facebook'} at {graph_api.url}")
        pipeline.ingest_events()
        pipeline.ingest_facebook(first_day, last_day)
    pipeline.dbt_build()
    print_summary(warehouse_dsn())
    say("browse the lineage and runs with `make dev` (http://localhost:3000)")


def _sample_days(summary: dict) -> tuple[date, date]:
    last = date.fromisoformat(summary["end_date"])
    first = date.fromisoformat(summary.get("start_date") or str(last - timedelta(DEMO_DAYS - 1)))
    return first, last
