"""The sample-data generator: determinism, the four shapes, the registry, the Facebook
fixtures, the bad lines and the behaviour the marts are meant to show."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from ingestion.config import REPO_ROOT
from ingestion.events.chunk import ChunkContext, ChunkMapper
from ingestion.events.shapes import Mapped
from ingestion.events.validation import Rejected
from ingestion.projects import load_projects
from ingestion.sample_data import DEFAULT_END_DATE, generate, projects_yaml
from ingestion.sample_data.ads import URL_TAGS
from ingestion.sample_data.malformed import KINDS, OVERSIZE

EVENTS, DAYS, SEED = 20_000, 4, 42
BOT_AGENTS = ("Googlebot", "bingbot", "HeadlessChrome", "python-requests", "curl/")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small runs shared by the tests: twice the same seed, another seed, one more day."""
    base = tmp_path_factory.mktemp("sample")
    generate(base / "a", events=EVENTS, days=DAYS, seed=SEED)
    generate(base / "b", events=EVENTS, days=DAYS, seed=SEED)
    generate(base / "other", events=EVENTS, days=DAYS, seed=SEED + 1)
    generate(base / "extra", events=EVENTS, days=DAYS, seed=SEED, extra_days=1)
    return {name: base / name for name in ("a", "b", "other", "extra")}


def file_hashes(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


@cache
def raw_lines(root: Path) -> list[tuple[str, bytes]]:
    """(file relative to landing/, line) for every line of every event file."""
    found = []
    for path in sorted((root / "landing").rglob("*.ndjson.gz")):
        relative = path.relative_to(root / "landing").as_posix()
        lines = gzip.decompress(path.read_bytes()).split(b"\n")[:-1]
        found.extend((relative, line) for line in lines)
    return found


@cache
def accepted(root: Path) -> list[tuple[str, bytes, Mapped]]:
    """The lines the loader accepts (malformed ones left out), with its mapping."""
    loader = mapper()
    found = []
    for relative, line in raw_lines(root):
        try:
            found.append((relative, line, loader.map_line(line, False)))
        except Rejected:
            continue
    return found


def events_of(root: Path) -> list[tuple[str, dict]]:
    """(file, parsed line) of every accepted line."""
    return [(relative, json.loads(line)) for relative, line, _ in accepted(root)]


def mapped_events(root: Path) -> list[Mapped]:
    return [mapped for _, _, mapped in accepted(root)]


def shape_of(event: dict) -> str | None:
    for shape, key in (("tracker", "public_key"), ("mobile", "api_key"), ("segment", "type"),
                       ("server", "event_type")):
        if key in event:
            return shape
    return None


def mapper() -> ChunkMapper:
    projects = load_projects(REPO_ROOT / "config" / "projects.yml")
    now = datetime.combine(DEFAULT_END_DATE + timedelta(days=2), datetime.min.time(), UTC)
    return ChunkMapper(ChunkContext(1, "test", tuple(projects), now, 1_000_000))


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(runs: dict[str, Path]) -> None:
    first, second = file_hashes(runs["a"]), file_hashes(runs["b"])
    assert first == second
    landing = [name for name in first if name.startswith("landing/")]
    # 3 projects x 2 shapes x 2 parts x 4 days, less parts that got no line.
    assert 40 <= len(landing) <= 48
    assert {"projects.yml", "summary.json", "facebook/act_1001.json", "facebook/act_1002.json",
            "facebook/act_2001.json", "facebook/act_3001.json"} <= set(first)


def test_gzip_headers_hold_no_name_or_time(runs: dict[str, Path]) -> None:
    path = next((runs["a"] / "landing").rglob("*.ndjson.gz"))
    header = path.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # flags: no FNAME, no comment
    assert header[4:8] == b"\x00\x00\x00\x00"  # mtime 0


def test_worker_processes_do_not_change_the_output(tmp_path: Path) -> None:
    generate(tmp_path / "one", events=3_000, days=2, seed=7, workers=1)
    generate(tmp_path / "two", events=3_000, days=2, seed=7, workers=2)
    assert file_hashes(tmp_path / "one") == file_hashes(tmp_path / "two")


def test_another_seed_gives_other_events_but_the_same_world(runs: dict[str, Path]) -> None:
    ours, theirs = file_hashes(runs["a"]), file_hashes(runs["other"])
    landing = {name for name in ours if name.startswith("landing/")}
    assert all(ours[name] != theirs.get(name) for name in landing)
    assert ours["projects.yml"] == theirs["projects.yml"]
    ours_fb = json.loads((runs["a"] / "facebook/act_1001.json").read_text())
    theirs_fb = json.loads((runs["other"] / "facebook/act_1001.json").read_text())
    assert ours_fb["ads"] == theirs_fb["ads"]
    assert ours_fb["insights"] != theirs_fb["insights"]


def test_summary_counts_what_was_written(runs: dict[str, Path]) -> None:
    summary = json.loads((runs["a"] / "summary.json").read_text())
    lines = raw_lines(runs["a"])
    assert summary["events"] == EVENTS
    assert summary["lines"] == len(lines) == EVENTS + summary["duplicate_lines"] + summary[
        "malformed_lines"]
    assert sum(summary["events_by_shape"].values()) == EVENTS
    assert (summary["start_date"], summary["end_date"]) == ("2026-10-28", "2026-10-31")
    assert summary["files"] == len(list((runs["a"] / "landing").rglob("*.ndjson.gz")))


# -- shapes -------------------------------------------------------------------------------------


def test_all_four_shapes_with_their_fields(runs: dict[str, Path]) -> None:
    by_shape: dict[str, list[dict]] = defaultdict(list)
    for _, event in events_of(runs["a"]):
        by_shape[shape_of(event)].append(event)
    assert {"segment", "mobile", "server", "tracker"} <= set(by_shape)

    segment = by_shape["segment"]
    assert {e["type"] for e in segment} == {"track", "page", "screen", "identify"}
    pages = [e for e in segment if e["type"] == "page"]
    page = pages[0]
    assert {"message_id", "write_key", "anonymous_id", "user_id", "session_id", "timestamp",
            "sent_at", "received_at", "context", "properties"} <= set(page)
    assert {"page", "user_agent", "ip", "locale", "timezone", "screen", "channel",
            "library"} <= set(page["context"])
    assert {"url", "path", "title", "referrer"} == set(page["context"]["page"])
    assert any("project_key" in e for e in segment)  # the iOS app's key field
    identifies = [e for e in segment if e["type"] == "identify"]
    assert all(e["user_id"] and e["traits"]["email"].endswith("@example.com") for e in identifies)

    mobile = by_shape["mobile"]
    assert all(isinstance(e["timestamp_ms"], int) and e["platform"] in ("android", "ios")
               for e in mobile)
    assert all(not isinstance(v, dict | list) for e in mobile for v in e["properties"].values())
    assert {"screen_view", "workout_start", "purchase"} <= {e["event_name"] for e in mobile}

    server = by_shape["server"]
    assert {type(e["properties"]) for e in server} == {dict, str}  # object or JSON text
    assert all(e["project_key"] and "T" not in e["created_at"] for e in server)  # no offset
    assert any(e["user_id"] and e["session_id"] is None for e in server)

    tracker = by_shape["tracker"]
    assert {e["event_type"] for e in tracker} == {"page_view", "click", "scroll", "form_start",
                                                  "form_submit", "custom"}
    assert all(0 < e["scroll_pct"] <= 100 for e in tracker if e["event_type"] == "scroll")
    clicks = [e for e in tracker if e["event_type"] == "click"]
    assert all(e["selector"] and isinstance(e["x"], int) for e in clicks)
    assert "Add to cart" in {e["name"] for e in clicks}
    assert all(e["user_agent"] for e in tracker)
    assert sum(e["viewport_w"] is None for e in tracker) < len(tracker) / 50  # scripts only


def test_registry_is_the_committed_one_and_matches_the_events(runs: dict[str, Path]) -> None:
    assert (runs["a"] / "projects.yml").read_text() == projects_yaml()
    assert (REPO_ROOT / "config" / "projects.yml").read_text() == projects_yaml()
    projects = load_projects(runs["a"] / "projects.yml")
    assert [p.project_id for p in projects] == ["acme_shop", "pocket_fitness", "orbit_saas"]
    assert len({p.timezone for p in projects}) == 3
    assert len({p.currency for p in projects}) == 3
    owner = {key: p.project_id for p in projects for key in p.keys}
    keys_seen = set()
    for relative, event in events_of(runs["a"]):
        key = next(event[f] for f in ("write_key", "project_key", "api_key", "public_key")
                   if f in event)
        keys_seen.add(key)
        assert relative.startswith(owner[key] + "/")
    assert keys_seen == set(owner)  # every SDK key is in use


def test_funnels_convert_and_drop_off(runs: dict[str, Path]) -> None:
    """Visitors reaching each step of every funnel in order (a simple funnel: no window)."""
    timelines: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for mapped in mapped_events(runs["a"]):
        columns = mapped.columns
        timelines[(columns["project_id"], columns["anonymous_id"])].append(
            (mapped.event_at, columns["event_name"]))
    for project in load_projects(runs["a"] / "projects.yml"):
        for funnel in project.funnels:
            reached = [0] * len(funnel.steps)
            for (project_id, _), timeline in timelines.items():
                if project_id != project.project_id:
                    continue
                step = 0
                for _, name in sorted(timeline):
                    if step < len(funnel.steps) and name == funnel.steps[step]:
                        reached[step] += 1
                        step += 1
            assert reached[-1] > 0, (project.project_id, funnel.name, reached)
            assert reached == sorted(reached, reverse=True) and reached[0] > reached[-1], (
                project.project_id, funnel.name, reached)


# -- Facebook ---------------------------------------------------------------------------------


def fixtures(root: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text())
            for path in sorted((root / "facebook").glob("act_*.json"))}


def test_every_ad_landing_matches_an_ad_with_spend_that_day(runs: dict[str, Path]) -> None:
    documents = fixtures(runs["a"])
    ads = {ad["id"]: ad for doc in documents.values() for ad in doc["ads"]}
    spend_days = {(row["ad_id"], row["date_start"]) for doc in documents.values()
                  for row in doc["insights"]}
    landings = 0
    for relative, event in events_of(runs["a"]):
        page = (event.get("context") or {}).get("page") or {}
        properties = event.get("properties") if isinstance(event.get("properties"), dict) else {}
        url = event.get("url") or page.get("url") or (properties or {}).get("url")
        query = parse_qs(urlsplit(url).query) if url else {}
        if "utm_ad_id" not in query:
            continue
        landings += 1
        ad = ads[query["utm_ad_id"][0]]
        assert query["utm_adset_id"] == [ad["adset_id"]]
        assert query["utm_campaign_id"] == [ad["campaign_id"]]
        assert query["utm_source"] == ["facebook"] and query["fbclid"][0].startswith("IwZXh0")
        file_day = relative.rsplit("/", 1)[1][:10]
        assert (ad["id"], file_day) in spend_days
    assert landings > 20


def test_fixture_format(runs: dict[str, Path]) -> None:
    documents = fixtures(runs["a"])
    assert set(documents) == {"act_1001", "act_1002", "act_2001", "act_3001"}
    acme = documents["act_1001"]
    assert acme["account"] == {"id": "act_1001", "account_id": "1001",
                               "name": "Acme Outdoor - US", "currency": "USD",
                               "timezone_name": "America/New_York"}
    assert documents["act_1002"]["account"]["timezone_name"] == "America/Los_Angeles"
    assert all(ad["creative"]["url_tags"] == URL_TAGS for doc in documents.values()
               for ad in doc["ads"])
    assert "PAUSED" in {ad["status"] for ad in acme["ads"]}
    days = {row["date_start"] for doc in documents.values() for row in doc["insights"]}
    assert days == {"2026-10-28", "2026-10-29", "2026-10-30", "2026-10-31"}
    for row in acme["insights"]:
        assert row["date_start"] == row["date_stop"]
        assert row["account_currency"] == "USD"
        whole, cents = row["spend"].split(".")
        assert whole.isdigit() and len(cents) == 2
        assert row["impressions"].isdigit() and row["clicks"].isdigit()
        assert int(row["reach"]) <= int(row["impressions"])
        types = {a["action_type"] for a in row.get("actions", [])}
        assert types <= {"link_click", "landing_page_view",
                         "offsite_conversion.fb_pixel_purchase",
                         "offsite_conversion.fb_pixel_complete_registration"}


def test_placement_rows_add_up_to_the_unbroken_rows(runs: dict[str, Path]) -> None:
    def cents(text: str) -> int:
        return int(text.replace(".", ""))

    def actions(row: dict, field: str) -> Counter:
        return Counter({a["action_type"]: cents(a["value"]) for a in row.get(field, [])})

    for doc in fixtures(runs["a"]).values():
        parts: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for row in doc["insights_placement"]:
            assert row["publisher_platform"] in ("facebook", "instagram")
            assert int(row["impressions"]) > 0
            parts[(row["ad_id"], row["date_start"])].append(row)
        assert len(parts) == len(doc["insights"])
        for row in doc["insights"]:
            split = parts[(row["ad_id"], row["date_start"])]
            for field in ("impressions", "clicks"):
                assert sum(int(p[field]) for p in split) == int(row[field])
            assert sum(cents(p["spend"]) for p in split) == cents(row["spend"])
            for field in ("actions", "action_values"):
                assert sum((actions(p, field) for p in split), Counter()) == actions(row, field)
            assert sum(int(p["reach"]) for p in split) >= int(row["reach"])  # not additive


# -- bad lines and duplicates -------------------------------------------------------------------


def test_every_malformed_kind_is_quarantined_for_its_reason(runs: dict[str, Path]) -> None:
    summary = json.loads((runs["a"] / "summary.json").read_text())
    assert set(summary["malformed_by_kind"]) == {*KINDS, OVERSIZE}
    assert summary["malformed_lines"] == EVENTS * 5 // 1000 + 1  # 0.5%, plus the oversize line
    lines = raw_lines(runs["a"])
    assert any(len(line) > 1_000_000 for _, line in lines)
    assert sum(b"\\u0000" in line for _, line in lines) == summary["malformed_by_kind"][
        "nul_character"]

    loader = mapper()
    reasons: Counter = Counter()
    distinct = set()
    for n, (_, line) in enumerate(lines):
        try:
            mapped = loader.map_line(line, n == 0)
        except Rejected as rejected:
            reasons[rejected.reason] += 1
            continue
        distinct.add((mapped.project.project_id, mapped.message_id))
    assert reasons == Counter(summary["malformed_by_kind"])
    assert len(distinct) == EVENTS  # duplicates collapse onto the events they copy


def test_duplicate_lines_sit_in_two_files(runs: dict[str, Path]) -> None:
    loader = mapper()
    copies: dict[tuple[str, str], list[tuple[str, bytes]]] = defaultdict(list)
    for relative, line in raw_lines(runs["a"]):
        try:
            mapped = loader.map_line(line, False)
        except Rejected:
            continue
        copies[(mapped.project.project_id, mapped.message_id)].append((relative, line))
    repeated = [found for found in copies.values() if len(found) > 1]
    summary = json.loads((runs["a"] / "summary.json").read_text())
    assert sum(len(found) - 1 for found in repeated) == summary["duplicate_lines"] > 0
    for found in repeated:
        (first_file, first_line), (second_file, second_line) = found
        assert first_file != second_file
        assert first_file.rsplit("-", 1)[0] == second_file.rsplit("-", 1)[0]  # two parts
        if first_line != second_line:  # a Segment retry: same message_id, received later
            first, second = json.loads(first_line), json.loads(second_line)
            assert first["message_id"] == second["message_id"]
            assert first["received_at"] != second["received_at"]
    kinds = Counter(a == b for (_, a), (_, b) in repeated)
    assert kinds[True] and kinds[False]


# -- behaviour ------------------------------------------------------------------------------------


def visitor_times(root: Path) -> dict[str, list[int]]:
    """Event times (epoch ms, skew-corrected) per anonymous id of non-identify lines."""
    times: dict[str, list[int]] = defaultdict(list)

    def ms(text: str) -> int:
        return round(datetime.fromisoformat(text).timestamp() * 1000)

    for _, e in events_of(root):
        if e.get("type") == "identify" or not isinstance(e.get("timestamp", ""), str):
            continue
        try:
            if "visitor_key" in e:
                times[e["visitor_key"]].append(ms(e["created_at"]))
            elif "anonymous_id" in e and e.get("sent_at"):
                times[e["anonymous_id"]].append(
                    ms(e["received_at"]) - ms(e["sent_at"]) + ms(e["timestamp"]))
        except (KeyError, TypeError, ValueError):
            continue  # malformed lines
    return times


def test_visitors_return_and_pause_at_the_session_boundary(runs: dict[str, Path]) -> None:
    times = visitor_times(runs["a"])
    gaps = Counter()
    returning = 0
    for values in times.values():
        values = sorted(set(values))
        gaps.update(b - a for a, b in zip(values, values[1:], strict=False)
                    if b - a in (1_800_000, 1_801_000))
        days = {v // 86_400_000 for v in values}
        returning += len(days) > 1
    assert gaps[1_800_000] >= 5 and gaps[1_801_000] >= 5
    assert returning > 50


def test_identify_links_anonymous_ids_to_users(runs: dict[str, Path]) -> None:
    anon_by_user: dict[str, set[str]] = defaultdict(set)
    later_with_user = 0
    for _, e in events_of(runs["a"]):
        if e.get("type") == "identify":
            anon_by_user[e["user_id"]].add(e["anonymous_id"])
        elif e.get("type") == "track" and e.get("user_id") and e.get("anonymous_id"):
            later_with_user += 1
    assert len(anon_by_user) > 10 and later_with_user > 10
    assert any(len(anons) > 1 for anons in anon_by_user.values())  # a second device


def test_bots_late_events_skew_and_addresses(runs: dict[str, Path]) -> None:
    agents, ips = Counter(), set()
    late = skewed = 0
    for relative, e in events_of(runs["a"]):
        agent = e.get("user_agent") or (e.get("context") or {}).get("user_agent") or ""
        agents.update(bot for bot in BOT_AGENTS if bot in agent)
        ip = (e.get("context") or {}).get("ip")
        if isinstance(ip, str):
            ips.add("v6" if ":" in ip else "v4")
        if "received_at" in e and "sent_at" in e and isinstance(e.get("timestamp"), str):
            timestamp = datetime.fromisoformat(e["timestamp"])
            received = datetime.fromisoformat(e["received_at"])
            sent = datetime.fromisoformat(e["sent_at"])
            late += received - timestamp > timedelta(days=1)
            # The client's clock is off: it sent "now" minutes or hours away from the server's.
            skewed += abs(received - sent) > timedelta(minutes=2)
        elif "timestamp_ms" in e:  # an app's offline queue, flushed into a later day's file
            file_day = datetime.fromisoformat(relative.rsplit("/", 1)[1][:10]).replace(tzinfo=UTC)
            late += e["timestamp_ms"] < (file_day - timedelta(days=1)).timestamp() * 1000
    assert len(agents) >= 3 and "Googlebot" in agents
    assert ips == {"v4", "v6"}
    assert late > 5 and skewed > 5


def test_a_visitor_with_over_a_thousand_events_in_a_day(runs: dict[str, Path]) -> None:
    heavy = json.loads((runs["a"] / "summary.json").read_text())["heavy_bot"]
    assert heavy["date"] == "2026-10-30" and heavy["events"] == 1_250
    distinct = {(m.columns["anonymous_id"], relative.rsplit("/", 1)[1][:10], m.message_id)
                for relative, _, m in accepted(runs["a"]) if m.columns["source_shape"] == "tracker"}
    days = Counter((anon, day) for anon, day, _ in distinct)
    (anon, day), count = days.most_common(1)[0]
    assert (anon, day, count) == (heavy["anonymous_id"], heavy["date"], 1_250)
    assert days.most_common(2)[1][1] < 100  # people are nowhere near
    agents = {e["user_agent"] for _, e in events_of(runs["a"]) if e.get("visitor_key") == anon}
    assert len(agents) == 1 and "bot" not in agents.pop().lower()  # only its volume tells


def test_extra_days_write_only_the_days_after_the_history(runs: dict[str, Path]) -> None:
    extra = runs["extra"]
    summary = json.loads((extra / "summary-extra.json").read_text())
    assert (summary["start_date"], summary["end_date"]) == ("2026-11-01", "2026-11-01")
    names = {p.name for p in (extra / "landing").rglob("*.ndjson.gz")}
    assert names and all(name.startswith("2026-11-01-") for name in names)
    assert EVENTS / DAYS * 0.6 < summary["events"] < EVENTS / DAYS * 1.6
    # Event times are on that day too, but for late arrivals queued 1-3 days before.
    zones = {p.project_id: ZoneInfo(p.timezone) for p in load_projects(extra / "projects.yml")}
    before = Counter()
    distinct = {(m.project.project_id, m.message_id): m for m in mapped_events(extra)}
    for mapped in distinct.values():
        day = mapped.event_at.astimezone(zones[mapped.project.project_id]).date()
        assert date(2026, 10, 29) <= day <= date(2026, 11, 2)
        before[day < date(2026, 11, 1)] += 1
    assert 0 < before[True] <= summary["late_events"]
    # The same visitors come back.
    history = set(visitor_times(runs["a"]))
    assert len(set(visitor_times(extra)) & history) > 20
    # Facebook fixtures now cover the extra day too, with the history's rows unchanged.
    before, after = fixtures(runs["a"]), fixtures(extra)
    for account, doc in after.items():
        old_rows = before[account]["insights"]
        assert doc["insights"][: len(old_rows)] == old_rows
        assert {r["date_start"] for r in doc["insights"][len(old_rows):]} == {"2026-11-01"}
        assert doc["ads"] == before[account]["ads"]


def test_rejects_nonsense_sizes(tmp_path: Path) -> None:
    from ingestion.errors import BeaconError

    with pytest.raises(BeaconError, match="--events"):
        generate(tmp_path, events=0)
    with pytest.raises(BeaconError, match="--days"):
        generate(tmp_path, events=10, days=0)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(BeaconError, match="cannot write sample data to .*a-file"):
        generate(tmp_path / "a-file" / "out", events=10, days=1)
    assert date(2026, 10, 31) == DEFAULT_END_DATE
