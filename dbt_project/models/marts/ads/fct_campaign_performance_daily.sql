{#- The campaign level (SPEC 5.5): additive measures summed over its ads, ratios recomputed;
    reach is not additive (people overlap across ads) and is left out. -#}

{{ beacon.ad_performance_rollup(ref('fct_ad_performance_daily'), ['campaign_id']) }}
