"""The typed readers: what they let into a typed column is text PostgreSQL accepts."""

from __future__ import annotations

import pytest

from ingestion.events import validation as v
from ingestion.events.validation import Rejected

# Digits of other scripts: Python's int(), float() and Decimal() read them, PostgreSQL does not.
ARABIC_INDIC_3 = "\u0663"
FULLWIDTH_3 = "\uff13"
SUPERSCRIPT_2 = "\u00b2"  # str.isdigit() says yes, int() says no


@pytest.mark.parametrize(("value", "expected"), [
    ("12.50", "12.50"), (" -7 ", "-7"), ("+.5e-3", "+.5e-3"), ("1e1000", "1e1000"),
    (19.5, "19.5"), (3, "3"),
    (ARABIC_INDIC_3, None), (FULLWIDTH_3 + ".5", None), ("1" + ARABIC_INDIC_3, None),
    ("NaN", None), ("Infinity", None), ("-inf", None), ("1_000", None),
    ("1e1001", None),  # more than 1000 digits before the point
    ("0." + "1" * 1001, None),  # small, but more than 1000 digits after the point
    ("1" * 1000 + "e-1001", None),
    (True, None),
])
def test_decimal_text_is_ascii_numeric_text_within_range(value: object, expected: str | None
                                                         ) -> None:
    assert v.decimal_text(value) == expected


@pytest.mark.parametrize("value", [ARABIC_INDIC_3, FULLWIDTH_3 + "5", "NaN", "Infinity"])
def test_numeric_fields_reject_what_is_not_ascii_numeric(value: str) -> None:
    with pytest.raises(Rejected) as caught:
        v.number(value, "scroll_pct")
    assert (caught.value.reason, caught.value.message) == (
        "wrong_type", f"scroll_pct must be a number, got {value!r}")


@pytest.mark.parametrize(("value", "expected"), [
    ("1280", 1280), (" +1280 ", 1280), ("-5", -5), (720.0, 720), ("2147483647", 2147483647),
    ("0000000001", 1), (None, None), ("", None),
])
def test_integer_reads_ascii_digits(value: object, expected: int | None) -> None:
    assert v.integer(value, "viewport_w") == expected


@pytest.mark.parametrize("value", [
    ARABIC_INDIC_3, FULLWIDTH_3, SUPERSCRIPT_2, "+-5", "--5", "9" * 5000, "2147483648",
    "00000000001", "1e3", "12.0",
])
def test_integer_rejects_other_text_as_wrong_type(value: str) -> None:
    # Some of these made int() raise ValueError, which stopped the whole load.
    with pytest.raises(Rejected) as caught:
        v.integer(value, "viewport_w")
    assert (caught.value.reason, caught.value.message) == (
        "wrong_type", f"viewport_w must be an integer, got {value!r:.60}")


@pytest.mark.parametrize("value", ["1741600800000", 1741600800000, 1741600800000.0])
def test_epoch_ms_reads_ascii_numbers(value: object) -> None:
    assert v.epoch_ms_time(value, "timestamp_ms").isoformat() == "2025-03-10T10:00:00+00:00"


@pytest.mark.parametrize("value", ["\u0661\u0667\u0664\u0661\u0666" + "\u0660" * 8,
                                   "\uff11" * 13, "NaN", "Infinity"])
def test_epoch_ms_rejects_other_digits(value: str) -> None:
    with pytest.raises(Rejected) as caught:
        v.epoch_ms_time(value, "timestamp_ms")
    assert caught.value.reason == "invalid_time"


def test_identifier_is_text_up_to_the_limit() -> None:
    assert v.MAX_ID_CHARS == 512
    longest = "\u00e9" * 512  # characters, not bytes: 1024 bytes of UTF-8
    assert v.identifier(longest, "anonymous_id") == longest
    assert v.identifier(12345, "anonymous_id") == "12345"
    assert v.identifier("", "anonymous_id") is None
    with pytest.raises(Rejected) as caught:
        v.identifier("x" * 513, "anonymous_id")
    assert (caught.value.reason, caught.value.message) == (
        "id_too_long", "anonymous_id has 513 characters, more than 512")


def test_every_reason_code_is_listed_and_documented() -> None:
    codes = {value for name, value in vars(v).items()
             if name.isupper() and isinstance(value, str) and value.islower()}
    assert set(v.REASONS) == codes
    assert len(v.REASONS) == len(codes) == 18
    assert {"id_too_long", "rejected_by_database"} <= codes
    for code in v.REASONS:
        assert f"``{code}``" in (v.__doc__ or "")
