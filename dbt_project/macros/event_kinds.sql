{#- Whether an event (a row with event_name, event_type and source_shape) is of the kind `kind`
    (form_start, form_submit...): named so, or a web tracker event of that event_type. The
    tracker names an event by its `name` when it has one (SPEC 3.2: "`name`, else
    `event_type`"), so a form_submit carrying the form's name, say `newsletter`, is only known
    by its event_type; the loader applies the same fallback for scroll and click. -#}
{% macro is_event_kind(kind) -%}
    (event_name = '{{ kind }}' or (source_shape = 'tracker' and event_type = '{{ kind }}'))
{%- endmacro %}
