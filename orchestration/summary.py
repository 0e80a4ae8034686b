"""The short report `make demo` and `beacon summary` print: mart row counts and top metrics."""

from __future__ import annotations

from ingestion.postgres import connection

TOP_METRICS = """
select
    projects.project_id,
    coalesce(sessions.sessions, 0),
    coalesce(sessions.visitors, 0),
    sessions.bounce_rate,
    coalesce(sessions.conversions, 0),
    coalesce(sessions.revenue, 0),
    coalesce(ads.spend, 0),
    ads.roas
from raw.projects as projects
left join (
    select project_id, count(*) as sessions, count(distinct anonymous_id) as visitors,
           avg(case when is_bounce then 1.0 else 0.0 end) as bounce_rate,
           sum(conversions) as conversions, sum(revenue) as revenue
    from marts.fct_sessions where not is_bot group by project_id
) as sessions using (project_id)
left join (
    select project_id, sum(spend) as spend,
           sum(revenue) / nullif(sum(spend), 0) as roas
    from marts.fct_ad_performance_daily group by project_id
) as ads using (project_id)
order by projects.project_id
"""


def mart_row_counts(dsn: str) -> dict[str, int]:
    with connection(dsn) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables"
                " where table_schema = 'marts' order by table_name"
            )
        ]
        return {t: conn.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in tables}


def print_summary(dsn: str) -> None:
    counts = mart_row_counts(dsn)
    if not counts:
        print("no marts yet: run `beacon build`")
        return
    width = max(len(name) for name in counts)
    print("\nMarts (schema marts)")
    for name, rows in counts.items():
        print(f"  {name:<{width}}  {rows:>10,} rows")
    if {"fct_sessions", "fct_ad_performance_daily"} <= counts.keys():
        with connection(dsn) as conn:
            rows = conn.execute(TOP_METRICS).fetchall()
        print("\nTop metrics (non-bot sessions; ad spend and attributed revenue)")
        print(
            f"  {'project':<14}{'sessions':>10}{'visitors':>10}{'bounce':>8}"
            f"{'conv.':>8}{'revenue':>12}{'ad spend':>12}{'ROAS':>7}"
        )
        for project, sessions, visitors, bounce, conv, revenue, spend, roas in rows:
            print(
                f"  {project:<14}{sessions:>10,}{visitors:>10,}"
                f"{_pct(bounce):>8}{conv:>8,}{revenue:>12,.2f}{spend:>12,.2f}"
                f"{(f'{roas:.2f}' if roas is not None else '-'):>7}"
            )
    print()


def _pct(value) -> str:
    return "-" if value is None else f"{float(value) * 100:.0f}%"
