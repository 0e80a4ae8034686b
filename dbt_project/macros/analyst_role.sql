{#- The read-only role BI tools use (SPEC 7): USAGE on `marts` and SELECT on its relations (the
    latter through the marts' `grants` config), nothing on any other schema. -#}

{% macro analyst_role() -%}beacon_analyst{%- endmacro %}

{#- Roles are cluster-wide and several databases may build at once: a concurrent CREATE ROLE
    fails with duplicate_object or unique_violation, either of which means "it exists now". -#}
{% macro ensure_analyst_role() %}
    {{ return(adapter.dispatch('ensure_analyst_role', 'beacon')()) }}
{% endmacro %}

{% macro postgres__ensure_analyst_role() %}
do $beacon$
begin
    if not exists (select 1 from pg_roles where rolname = '{{ beacon.analyst_role() }}') then
        create role {{ beacon.analyst_role() }} nologin;
    end if;
exception
    when duplicate_object or unique_violation then null;
end
$beacon$
{% endmacro %}

{#- Schema-level rights are outside dbt's `grants` (which cover relations): give USAGE on marts
    and take back anything on the other layers, so the role sees marts and nothing else. -#}
{% macro grant_analyst_schema_usage() %}
    {{ return(adapter.dispatch('grant_analyst_schema_usage', 'beacon')()) }}
{% endmacro %}

{% macro postgres__grant_analyst_schema_usage() %}
do $beacon$
declare
    other text;
begin
    if exists (select 1 from pg_namespace where nspname = 'marts') then
        execute 'grant usage on schema marts to {{ beacon.analyst_role() }}';
    end if;
    foreach other in array array['raw', 'staging', 'intermediate', 'seeds', '{{ target.schema }}'] loop
        if other <> 'marts' and exists (select 1 from pg_namespace where nspname = other) then
            execute format('revoke all on schema %I from {{ beacon.analyst_role() }}', other);
        end if;
    end loop;
end
$beacon$
{% endmacro %}
