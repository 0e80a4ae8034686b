"""A person's view: `dagster dev` serves the asset graph, and headless Chromium finds the marts.

`dagster dev` ignores SIGTERM in its children, so it runs in its own process group and the
whole group is killed afterwards. The screenshot stays in tests/artifacts/ for a human look.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port
from tests.orchestration.cdp import Chromium
from tests.orchestration.marts import MARTS

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
LOCATION_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries {
    name locationOrLoadError { __typename } } } } }"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no Chromium on this machine (make test installs Debian's chromium when it can)")


def _wait_for_location(base: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dagster dev exited with {proc.returncode}")
        try:
            answer = requests.post(f"{base}/graphql", json={"query": LOCATION_QUERY}, timeout=5)
            entries = answer.json()["data"]["workspaceOrError"]["locationEntries"]
            kinds = {
                e["locationOrLoadError"]["__typename"] for e in entries if e["locationOrLoadError"]
            }
            if "RepositoryLocation" in kinds:
                return
            if "PythonError" in kinds:
                raise AssertionError(f"the code location failed to load: {answer.text[:500]}")
        except (requests.RequestException, KeyError, TypeError, ValueError):
            pass
        time.sleep(1)
    raise AssertionError("dagster dev did not load the code location in time")


@pytest.mark.browser
def test_asset_graph_shows_every_mart(tmp_path: Path, repo_root: Path) -> None:
    executable = _chromium()
    port = free_port()
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    dagster = Path(sys.executable).with_name("dagster")
    server = subprocess.Popen(
        [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=repo_root,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    browser = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_location(base, server)
        # Tall enough for the whole graph at the zoom Dagster opens it with.
        browser = Chromium(executable, tmp_path / "chrome", height=2400)
        # The lineage graph of the marts group, with its upstream dependencies drawn in.
        browser.goto(f"{base}/locations/beacon/asset-groups/marts")
        browser.wait_for("document.body.innerText.includes('fct_ad_performance_daily')")
        browser.click_button("Skip")  # Dagster's first-visit newsletter dialog
        time.sleep(2)
        ARTIFACTS.mkdir(exist_ok=True)
        browser.screenshot(ARTIFACTS / "dagster-asset-graph.png")
        text = browser.text()
        for mart in MARTS:
            assert mart in text, f"{mart} is not on the asset graph page"
        assert (ARTIFACTS / "dagster-asset-graph.png").stat().st_size > 10_000
    finally:
        if browser:
            browser.close()
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
