"""The fake server run standalone, as `make demo` runs it."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from ingestion.facebook_ads.client import GraphApiClient
from ingestion.facebook_ads.fake_graph_api import load_fixtures
from tests.conftest import free_port


def test_runs_standalone_and_serves_the_fixtures(fixtures_dir: Path, repo_root: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ingestion.facebook_ads.fake_graph_api", "--fixtures",
         str(fixtures_dir), "--port", str(port), "--token", "demo"],
        cwd=repo_root, stdout=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline()
        assert banner.strip() == f"fake Graph API serving 2 ad accounts at http://127.0.0.1:{port}"
        client = GraphApiClient(f"http://127.0.0.1:{port}", "v21.0", "demo")
        rows = list(client.insights("2002", date(2024, 1, 1), date(2024, 1, 7)))
        expected = [r for r in load_fixtures(fixtures_dir)["2002"]["insights"]
                    if r["date_start"] <= "2024-01-07"]
        assert sorted((r["ad_id"], r["date_start"], r["spend"]) for r in rows) == \
            sorted((r["ad_id"], r["date_start"], r["spend"]) for r in expected)
    finally:
        # SIGKILL: once (2026-12-07, in CI) a SIGTERM left the server running past the wait's
        # 10 s, cause unknown; how the server stops is not what this test is about.
        server.kill()
        server.wait(timeout=30)
        server.stdout.close()
