"""The marts of SPEC 5, as the orchestration tests expect to find them."""

MARTS = (
    "fct_events",
    "fct_sessions",
    "dim_visitors",
    "dim_users",
    "fct_daily_rollups",
    "fct_funnel_daily",
    "dim_ads",
    "fct_ad_performance_daily",
    "fct_adset_performance_daily",
    "fct_campaign_performance_daily",
)
