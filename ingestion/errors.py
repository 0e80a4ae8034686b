"""The one exception type the CLI turns into a one-line message."""


class BeaconError(Exception):
    """An error a user can act on: its message is printed alone, without a traceback."""
