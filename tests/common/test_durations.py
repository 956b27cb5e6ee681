from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from common.durations import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("5m", 300.0), ("2h", 7200.0), ("1h30m", 5400.0), ("250ms", 0.25), ("1d", 86400.0),
     ("1.5s", 1.5), ("0s", 0.0), (0, 0.0), (12, 12.0), (2.5, 2.5), ("90", 90.0), (" 5m ", 300.0), ("2m30s", 150.0)],
)
def test_parses_operator_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "soon", "", "1h30", "m5", "nan", "inf", True, None, [1], "5mm"])
def test_rejects_what_is_not_a_duration(bad: object) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(bad)


@pytest.mark.parametrize("bad", [-1, "-5s", "-2"])
def test_rejects_negative_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.25, "250ms"), (3, "3s"), (4.5, "4.5s"), (60, "1m"), (90, "1m30s"), (300, "5m"),
     (5400, "1h30m"), (7200, "2h")],
)
def test_formats_compactly(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds  # round trip


def test_duration_field_type_holds_seconds() -> None:
    class Model(BaseModel):
        wait: Duration

    assert Model(wait="1h30m").wait == 5400.0
    with pytest.raises(ValidationError, match="invalid duration 'later'"):
        Model(wait="later")
