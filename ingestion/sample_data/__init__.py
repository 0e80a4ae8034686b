"""Deterministic sample data: events in every SDK shape, the registry, Facebook fixtures.

`generate(out_dir, events=N, days=D, seed=S)` writes

- `landing/<project_id>/<shape>/<YYYY-MM-DD>-<part>.ndjson.gz`: events of 3 projects,
- `projects.yml`: their registry (the same as `projects_yaml()`),
- `facebook/act_<id>.json`: ad accounts, campaigns, ad sets, ads and daily insights,
- `summary.json`: the `GenerationSummary`.

The same arguments always give byte-identical files.
"""

from ingestion.sample_data.catalog import projects_yaml
from ingestion.sample_data.generator import DEFAULT_END_DATE, GenerationSummary, generate

__all__ = ["DEFAULT_END_DATE", "GenerationSummary", "generate", "projects_yaml"]
