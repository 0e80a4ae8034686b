"""Daily partitions of Facebook insights: one partition is one ad-account day."""

from dagster import DailyPartitionsDefinition

FACEBOOK_START_DATE = "2024-01-01"
RESTATEMENT_DAYS = 28  # Meta restates the last 28 days; the schedule re-pulls them

facebook_daily = DailyPartitionsDefinition(start_date=FACEBOOK_START_DATE, end_offset=0)
