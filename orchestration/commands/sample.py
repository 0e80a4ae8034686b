"""`beacon sample-data`: deterministic sample events, registry and Facebook fixtures."""

from __future__ import annotations

import argparse

from orchestration.commands.progress import say


def main(args: argparse.Namespace) -> int:
    from ingestion.sample_data import generate

    summary = generate(
        args.out,
        events=args.events,
        days=args.days,
        seed=args.seed,
        extra_days=args.extra_days,
        progress=say,
    )
    say(f"sample data written to {args.out}: {summary}")
    return 0
