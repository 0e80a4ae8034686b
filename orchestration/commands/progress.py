"""Progress lines for long work, on stderr so stdout stays clean for data (`beacon db url`)."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
