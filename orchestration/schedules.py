"""Daily schedules: Facebook's trailing restatement window first, then events and the marts."""

from datetime import timedelta

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from orchestration.jobs import ingest_facebook_job, refresh_job
from orchestration.partitions import RESTATEMENT_DAYS


def trailing_partition_range(day, days: int = RESTATEMENT_DAYS) -> tuple[str, str]:
    """The partition keys of the `days` complete days before `day`."""
    last = day - timedelta(days=1)
    first = day - timedelta(days=days)
    return first.isoformat(), last.isoformat()


@schedule(job=ingest_facebook_job, cron_schedule="0 4 * * *", execution_timezone="UTC")
def facebook_daily_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Re-pull the trailing 28 days in one run: Meta restates them."""
    first, last = trailing_partition_range(context.scheduled_execution_time.date())
    return RunRequest(
        run_key=f"facebook-{last}",
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
    )


@schedule(job=refresh_job, cron_schedule="0 5 * * *", execution_timezone="UTC")
def daily_refresh_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Load any event files not yet loaded, apply retention and rebuild the marts."""
    return RunRequest(run_key=f"refresh-{context.scheduled_execution_time.date()}")


all_schedules = [facebook_daily_schedule, daily_refresh_schedule]
