"""Event ingestion: landing `.ndjson[.gz]` files of four SDK shapes into the raw layer.

Modules: `landing` (finding files), `reader` (streaming lines), `shapes` (detecting and
mapping each shape), `validation` (quarantine reason codes and typed readers), `web` (IP,
URL and UTM details), `chunk` (one chunk of lines to COPY rows; `native/` is its C fast
path), `copy_format`, `mapping_ahead` (mapping in a thread while the loader copies),
`batch` (files in one transaction), `key_filter` (keys the loader need not look up),
`manifest` (what was loaded), `loader` (the public entry points), `retention`.
"""
