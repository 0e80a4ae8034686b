"""Why a line is quarantined, and the typed readers that decide it.

Quarantine reason codes (stable: dbt models, alerts and people filter on them):

- ``oversize_line``: the line is longer than the loader's ``max_line_bytes``.
- ``empty_line``: the line holds nothing but whitespace.
- ``nul_character``: a raw NUL byte, or a string holding ``\\u0000`` (PostgreSQL text cannot).
- ``invalid_utf8``: the bytes are not UTF-8.
- ``invalid_json``: not a JSON document.
- ``not_an_object``: JSON, but not an object (an array, a string, ...).
- ``too_deep``: objects and arrays nested deeper than the JSON tools handle (254 levels).
- ``unknown_shape``: an object whose keys match none of the four SDK shapes.
- ``unknown_project``: the shape's project key is missing or belongs to no project.
- ``missing_time``: the shape's event time is absent or null.
- ``invalid_time``: a time (event, sent or received) that cannot be read as one.
- ``missing_identity``: no anonymous id can be derived (shape by shape, SPEC 3.2).
- ``id_too_long``: an id (anonymous, user, session or message id) longer than
  ``MAX_ID_CHARS`` characters. Ids are indexed downstream (dbt's visitor and user keys),
  and a btree entry cannot exceed about 2700 bytes.
- ``missing_event_name``: no event name can be derived.
- ``wrong_type``: a field of the shape has a type the mapping cannot use (an object where
  a string belongs, a non-numeric size, ``properties`` that is not an object, ...).
- ``time_in_future``: the event time is more than one day after the load's "now".
- ``time_too_old``: the event time is older than the project's ``retention_days``.
- ``rejected_by_database``: PostgreSQL refused a value of the mapped row (a gap in the checks
  above, which should be closed; the message is PostgreSQL's). The loader finds such rows when
  a COPY fails, so they never stop a load.

Type policy: strings are taken as they are and numbers where a string belongs are turned
into their text (numeric ids are common); numeric fields accept numbers and numeric strings.
Anything else (booleans, objects, arrays where a scalar belongs) is ``wrong_type``.

What reaches a typed column is text PostgreSQL accepts: numeric strings are ASCII digits only
(Python's ``int``, ``float`` and ``Decimal`` also read other scripts' digits, which
PostgreSQL refuses), within int4 and numeric's ranges, and times are ISO 8601 text with an
offset PostgreSQL can read, else formatted in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

OVERSIZE_LINE = "oversize_line"
EMPTY_LINE = "empty_line"
NUL_CHARACTER = "nul_character"
INVALID_UTF8 = "invalid_utf8"
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
TOO_DEEP = "too_deep"
UNKNOWN_SHAPE = "unknown_shape"
UNKNOWN_PROJECT = "unknown_project"
MISSING_TIME = "missing_time"
INVALID_TIME = "invalid_time"
MISSING_IDENTITY = "missing_identity"
MISSING_EVENT_NAME = "missing_event_name"
WRONG_TYPE = "wrong_type"
TIME_IN_FUTURE = "time_in_future"
TIME_TOO_OLD = "time_too_old"
ID_TOO_LONG = "id_too_long"
REJECTED_BY_DATABASE = "rejected_by_database"

REASONS = (
    OVERSIZE_LINE, EMPTY_LINE, NUL_CHARACTER, INVALID_UTF8, INVALID_JSON, NOT_AN_OBJECT, TOO_DEEP,
    UNKNOWN_SHAPE, UNKNOWN_PROJECT, MISSING_TIME, INVALID_TIME, MISSING_IDENTITY, ID_TOO_LONG,
    MISSING_EVENT_NAME, WRONG_TYPE, TIME_IN_FUTURE, TIME_TOO_OLD, REJECTED_BY_DATABASE,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INT32_MAX = 2**31 - 1
MAX_ID_CHARS = 512  # 2048 bytes of UTF-8 at most: an index entry holds about 2700
# PostgreSQL numeric stores at most 131072 digits before and 16383 after the point; keep
# far inside, since these values only feed `revenue` and `scroll_pct`.
MAX_NUMERIC_EXPONENT = 1000
# ASCII digits only ([0-9], not \d): PostgreSQL reads no other script's digits.
_NUMERIC_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fullmatch
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,10}").fullmatch  # int4 has at most 10 digits


class Rejected(Exception):  # noqa: N818 - a verdict, not an error of the loader
    """A line that goes to quarantine: a reason code from this module and a message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def describe(value: object) -> str:
    return "null" if value is None else type(value).__name__


def text(value: object, field: str) -> str | None:
    """A string field: str as is, a number as its text, None for null or ''."""
    if value.__class__ is str:  # the common case first: this runs a dozen times a line
        return value or None
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return orjson.dumps(value).decode()
    raise Rejected(WRONG_TYPE, f"{field} must be a string, got {describe(value)}")


def identifier(value: object, field: str) -> str | None:
    """An id field (anonymous, user, session or message id): a `text` of at most
    MAX_ID_CHARS characters."""
    if value.__class__ is str and len(value) <= MAX_ID_CHARS:  # the common case first
        return value or None
    result = text(value, field)
    if result is not None and len(result) > MAX_ID_CHARS:
        raise Rejected(ID_TOO_LONG, f"{field} has {len(result)} characters, more than"
                                    f" {MAX_ID_CHARS}")
    return result


def obj(value: object, field: str) -> dict | None:
    """An object field (None when absent or null)."""
    if value is None or isinstance(value, dict):
        return value
    raise Rejected(WRONG_TYPE, f"{field} must be an object, got {describe(value)}")


def json_object(value: object, field: str) -> dict | None:
    """An object, or a string holding a JSON object (the analytics server stores text)."""
    if isinstance(value, str):
        if not value.strip():
            return None
        encoded = value
        try:
            value = orjson.loads(encoded)
        except orjson.JSONDecodeError as exc:
            raise Rejected(WRONG_TYPE, f"{field} is a string but not JSON: {exc}") from None
        if "\\u0000" in encoded and contains_nul(value):
            raise Rejected(NUL_CHARACTER, f"{field} holds a \\u0000 character")
    return obj(value, field)


def integer(value: object, field: str) -> int | None:
    """An int4 field: an integral number or digit string within PostgreSQL's integer."""
    if value is None or value == "":
        return None
    number: object = value
    if isinstance(value, str) and _INTEGER_TEXT(value.strip()):
        number = int(value)
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    is_int = isinstance(number, int) and not isinstance(number, bool)
    if is_int and -INT32_MAX <= number <= INT32_MAX:  # type: ignore[operator]
        return number  # type: ignore[return-value]
    raise Rejected(WRONG_TYPE, f"{field} must be an integer, got {value!r:.60}")


def decimal_text(value: object) -> str | None:
    """A number or numeric string as text PostgreSQL's numeric accepts; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        stripped = value.strip()
        if _NUMERIC_TEXT(stripped):
            parsed = Decimal(stripped)
            # Bound the digits before the point and after it: "0.000...1" is small but long.
            digits_after_point = -parsed.as_tuple().exponent  # type: ignore[operator]
            if max(parsed.adjusted(), digits_after_point) <= MAX_NUMERIC_EXPONENT:
                return stripped
    return None


def number(value: object, field: str) -> str | None:
    """A numeric field of a shape (e.g. scroll_pct): wrong_type when not numeric."""
    if value is None or value == "":
        return None
    result = decimal_text(value)
    if result is None:
        raise Rejected(WRONG_TYPE, f"{field} must be a number, got {value!r:.60}")
    return result


def iso_time(value: object, field: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC."""
    if not isinstance(value, str):
        raise Rejected(INVALID_TIME, f"{field} must be an ISO 8601 string, got {describe(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Rejected(INVALID_TIME, f"{field} is not an ISO 8601 time: {value!r:.60}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise Rejected(INVALID_TIME, f"{field} is out of range: {value!r:.60}") from None


def optional_iso_time(value: object, field: str) -> datetime | None:
    return None if value is None else iso_time(value, field)


def epoch_ms_time(value: object, field: str) -> datetime:
    """Milliseconds since the epoch, as a number or a numeric string."""
    ms: object = value
    if isinstance(value, str):  # float() reads whatever _NUMERIC_TEXT accepts (huge: inf)
        ms = float(value) if _NUMERIC_TEXT(value.strip()) else None
    if not isinstance(ms, int | float) or isinstance(ms, bool):
        raise Rejected(INVALID_TIME, f"{field} must be epoch milliseconds, got {value!r:.60}")
    try:
        return EPOCH + timedelta(milliseconds=ms)
    except (OverflowError, ValueError):
        raise Rejected(INVALID_TIME, f"{field} is out of range: {value!r:.60}") from None


def contains_nul(document: object) -> bool:
    """Whether any string (key or value) in a parsed JSON document holds U+0000.

    Iterative: documents may nest deeper than Python's recursion limit.
    """
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            if any("\x00" in key for key in value):
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
