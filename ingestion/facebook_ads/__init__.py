"""Facebook (Meta) ad spend: Graph API client, loader, Ads Manager CSV import, fake server.

- `client.GraphApiClient`: the Marketing API over `requests` (paging, async report runs,
  retries, rate-limit headers).
- `loader.sync_ad_account` / `loader.sync_projects`: pull and replace a window of days.
- `csv_import.load_ads_manager_csv`: the same tables from an Ads Manager export.
- `fake_graph_api.FakeGraphApi`: a local server speaking the same JSON, for tests and the demo.
"""
