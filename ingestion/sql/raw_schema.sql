-- The raw layer: what the loaders write and dbt's sources read (schema `raw`).
-- Idempotent: applied before every load by ingestion.warehouse.ensure_raw_schema().
-- Column names here are the contract between ingestion/ and dbt_project/: add, never rename.

create schema if not exists raw;

-- Projects registry (config/projects.yml), replaced whole on every load.
create table if not exists raw.projects (
    project_id              text primary key,
    name                    text not null,
    keys                    text[] not null,
    timezone                text not null,
    currency                text not null,
    facebook_ad_account_ids text[] not null,
    conversion_events       text[] not null,
    revenue_property        text not null,
    retention_days          integer not null,
    funnels                 jsonb not null,
    loaded_at               timestamptz not null default now()
);

create table if not exists raw.project_keys (
    key        text primary key,
    project_id text not null
);

create table if not exists raw.project_conversion_events (
    project_id text not null,
    event_name text not null,
    primary key (project_id, event_name)
);

create table if not exists raw.project_funnel_steps (
    project_id             text not null,
    funnel_name            text not null,
    step_number            integer not null,
    step_event             text not null,
    conversion_window_days integer not null,
    primary key (project_id, funnel_name, step_number)
);

create table if not exists raw.project_ad_accounts (
    project_id    text not null,
    ad_account_id text primary key
);

-- One row per file version the event loader has seen.
create table if not exists raw.load_manifest (
    load_id           bigserial primary key,
    source_path       text not null,
    checksum          text not null,
    size_bytes        bigint not null,
    version           integer not null default 1,
    status            text not null,          -- running | loaded | failed
    lines_total       bigint,
    lines_loaded      bigint,
    lines_duplicate   bigint,
    lines_quarantined bigint,
    error             text,
    started_at        timestamptz not null default now(),
    finished_at       timestamptz
);
create unique index if not exists load_manifest_checksum_loaded
    on raw.load_manifest (checksum) where status = 'loaded';
-- The file's modification time: with path and size, a cheap "already loaded?" pre-check.
alter table raw.load_manifest add column if not exists file_mtime timestamptz;

-- Events of every SDK shape, mapped to one set of typed columns; one row per (project, message).
create table if not exists raw.events (
    project_id        text not null,
    message_id        text not null,
    source_shape      text not null,          -- segment | mobile | server | tracker
    event_type        text,                   -- segment `type`, tracker/server `event_type`
    event_name        text not null,
    is_page_view      boolean not null,
    is_identify       boolean not null,
    is_scroll         boolean not null,
    is_click          boolean not null,
    cta_label         text,
    anonymous_id      text not null,
    user_id           text,
    client_session_id text,
    event_at          timestamptz not null,   -- skew-corrected event time (UTC)
    client_event_at   timestamptz,            -- the time the client sent, before correction
    sent_at           timestamptz,
    received_at       timestamptz,
    page_url          text,
    page_path         text,
    page_title        text,
    page_referrer     text,
    user_agent        text,
    ip                text,                   -- truncated: IPv4 /24, IPv6 /48
    locale            text,
    timezone          text,
    screen_width      integer,
    screen_height     integer,
    scroll_pct        numeric,
    platform          text,
    channel           text,
    library_name      text,
    library_version   text,
    utm_source        text,
    utm_medium        text,
    utm_campaign      text,
    utm_content       text,
    utm_term          text,
    utm_id            text,
    utm_campaign_id   text,
    utm_adset_id      text,
    utm_ad_id         text,
    utm_placement     text,
    fbclid            text,
    revenue           numeric,                -- the project's revenue_property, when numeric
    properties        jsonb,
    traits            jsonb,
    -- The line's fields that no column holds (ingestion/events/shapes.py, READ_FIELDS), IP
    -- truncated; null when there are none. With the columns, nothing an SDK sent is lost, and
    -- the line itself stays in its landing file (raw.load_manifest, line_number).
    extra             jsonb,
    load_id           bigint not null,
    line_number       bigint not null,
    loaded_at         timestamptz not null default now(),
    -- The dedup key: md5(project_id || E'\n' || message_id) as a uuid, computed by the loader
    -- (chunk.event_key). A far smaller and cheaper index than the two texts (a content id alone
    -- is 64 characters), and still one row per (project, message).
    event_key         uuid not null,
    primary key (event_key)
);

-- Older warehouses, once each (an ALTER takes an exclusive lock even when it has nothing to
-- do, so only when needed): event_key added, then no longer generated by PostgreSQL (binary
-- COPY cannot write a generated column); extra added, and payload, the whole line, no longer
-- written (it is kept, nullable, for the rows loaded before: the loader's time went to it).
do $$
begin
    if not exists (
        select 1 from information_schema.columns
        where table_schema = 'raw' and table_name = 'events' and column_name = 'event_key'
    ) then
        alter table raw.events
            add column event_key uuid not null
                generated always as (md5(project_id || E'\n' || message_id)::uuid) stored,
            drop constraint if exists events_pkey;
        alter table raw.events add primary key (event_key);
    end if;
    if exists (
        select 1 from information_schema.columns
        where table_schema = 'raw' and table_name = 'events' and column_name = 'event_key'
            and is_generated = 'ALWAYS'
    ) then
        alter table raw.events alter column event_key drop expression;
    end if;
    if not exists (
        select 1 from information_schema.columns
        where table_schema = 'raw' and table_name = 'events' and column_name = 'extra'
    ) then
        alter table raw.events add column extra jsonb;
        alter table raw.events alter column payload drop not null;
    end if;
end
$$;

-- dbt's incremental models read `loaded_at >` their watermark. A btree (about a tenth of the
-- load's time) rather than a BRIN: once vacuum has recorded the free space left at the end of
-- old pages, later loads put rows into every one of them, so every BRIN range matches a recent
-- watermark and the "few new rows" become a scan of the whole table (measured at 10M events:
-- an incremental build of 102 s with the BRIN, 41 s with the btree).
drop index if exists raw.events_loaded_at_brin;
create index if not exists events_loaded_at on raw.events (loaded_at);
-- int_identifies reads `is_identify and loaded_at >` its watermark, which only moves when a load
-- brings identifies: through the index above, a lagging watermark made it re-read every event
-- loaded since (3M rows, 9 s at 10M events); this partial index holds identifies alone.
create index if not exists events_identify_loaded_at on raw.events (loaded_at) where is_identify;

-- The event loader's Bloom filter of raw.events' keys (ingestion/events/key_filter.py): a hint
-- that spares it looking up keys the table cannot hold; the primary key above decides.
create table if not exists raw.event_key_filter (
    filter_id  integer primary key check (filter_id = 1),
    bits       bytea not null,
    capacity   bigint not null,
    keys_added bigint not null,
    saved_at   timestamptz not null default now()
);
-- Stored as is: random bits do not compress, and trying cost most of each save (16 bits a key:
-- 40 MB at 10M events, 1.4 s of a small load, growing with the history; 0.2 s without).
alter table raw.event_key_filter alter column bits set storage external;

-- Lines that could not be loaded, with the reason.
create table if not exists raw.quarantine (
    quarantine_id bigserial primary key,
    load_id       bigint not null,
    source_path   text not null,
    line_number   bigint not null,
    raw_text      text not null,             -- NUL and invalid UTF-8 escaped
    reason        text not null,             -- a code: invalid_json, unknown_project, ...
    message       text not null,
    project_id    text,
    loaded_at     timestamptz not null default now(),
    unique (load_id, line_number)
);

-- Facebook (Meta Marketing API or Ads Manager CSV).
create table if not exists raw.facebook_ad_accounts (
    ad_account_id text primary key,           -- digits, without `act_`
    name          text,
    currency      text,
    timezone_name text,
    pulled_at     timestamptz not null default now()
);

create table if not exists raw.facebook_campaigns (
    campaign_id   text primary key,
    ad_account_id text not null,
    name          text,
    status        text,
    objective     text,
    created_time  timestamptz,
    updated_time  timestamptz,
    pulled_at     timestamptz not null default now()
);

create table if not exists raw.facebook_adsets (
    adset_id      text primary key,
    ad_account_id text not null,
    campaign_id   text,
    name          text,
    status        text,
    created_time  timestamptz,
    updated_time  timestamptz,
    pulled_at     timestamptz not null default now()
);

create table if not exists raw.facebook_ads (
    ad_id         text primary key,
    ad_account_id text not null,
    campaign_id   text,
    adset_id      text,
    name          text,
    status        text,
    url_tags      text,                       -- the creative's url_tags, for UTM matching
    created_time  timestamptz,
    updated_time  timestamptz,
    pulled_at     timestamptz not null default now()
);

-- Ad-level daily insights, one row per (account, ad, day); numbers exactly as Meta's strings.
create table if not exists raw.facebook_insights (
    ad_account_id       text not null,
    date_start          date not null,        -- the ad account's day
    date_stop           date not null,
    campaign_id         text,
    campaign_name       text,
    adset_id            text,
    adset_name          text,
    ad_id               text not null,
    ad_name             text,
    spend               numeric(18, 2) not null,
    impressions         bigint not null,
    clicks              bigint not null,
    reach               bigint,
    actions             jsonb,                -- [{"action_type", "value"}], as returned
    action_values       jsonb,
    account_currency    text,
    attribution_windows text not null,        -- e.g. 7d_click,1d_view
    source              text not null,        -- api | csv
    pulled_at           timestamptz not null default now(),
    primary key (ad_account_id, ad_id, date_start)
);

-- The same with placement breakdowns: never summed with raw.facebook_insights.
create table if not exists raw.facebook_insights_placement (
    ad_account_id       text not null,
    date_start          date not null,
    date_stop           date not null,
    campaign_id         text,
    adset_id            text,
    ad_id               text not null,
    publisher_platform  text not null,
    platform_position   text not null,
    spend               numeric(18, 2) not null,
    impressions         bigint not null,
    clicks              bigint not null,
    reach               bigint,
    actions             jsonb,
    action_values       jsonb,
    account_currency    text,
    attribution_windows text not null,
    source              text not null,
    pulled_at           timestamptz not null default now(),
    primary key (ad_account_id, ad_id, date_start, publisher_platform, platform_position)
);

-- Load times of the registry's child tables (dbt source freshness); added after the first
-- release, so existing warehouses get them by ALTER, only when missing (an ALTER takes an
-- exclusive lock even when it has nothing to do). write_projects() leaves them to the default.
do $$
declare
    child text;
begin
    foreach child in array array['project_keys', 'project_conversion_events',
                                 'project_funnel_steps', 'project_ad_accounts'] loop
        if not exists (
            select 1 from information_schema.columns
            where table_schema = 'raw' and table_name = child and column_name = 'loaded_at'
        ) then
            execute format(
                'alter table raw.%I add column loaded_at timestamptz not null default now()', child
            );
        end if;
    end loop;
end
$$;
