"""Durations as operators write them in scenarios.yaml: `90s`, `5m`, `2h`, `1h30m`, `250ms`, or seconds.

Parsed to float seconds at load time so nothing downstream handles strings.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# One or more <number><unit> parts, largest unit first is not enforced: `1h30m` and `90s` are both fine.
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")

EXAMPLES = "e.g. 90s, 5m, 2h, 1h30m, 250ms, or a number of seconds"


def parse_duration(value: object) -> float:
    """Seconds as a float. Raises ValueError with an operator-facing message on anything else."""
    if isinstance(value, bool):  # YAML `yes`/`no` are booleans, and bool is an int subclass
        raise ValueError(f"invalid duration {value!r}: {EXAMPLES}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text.startswith("-") and (_WHOLE.fullmatch(text[1:]) or text[1:].replace(".", "", 1).isdigit()):
            raise ValueError(f"invalid duration {value!r}: must not be negative")
        if not _WHOLE.fullmatch(text):
            try:
                seconds = float(text)  # "90" or "1.5" quoted in the file
            except ValueError:
                raise ValueError(f"invalid duration {value!r}: {EXAMPLES}") from None
        else:
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text))
    else:
        raise ValueError(f"invalid duration {value!r}: {EXAMPLES}")
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"invalid duration {value!r}: {EXAMPLES}")
    if seconds < 0:
        raise ValueError(f"invalid duration {value!r}: must not be negative")
    return seconds


def format_duration(seconds: float) -> str:
    """Compact human form for plans and reports: 300 -> `5m`, 5400 -> `1h30m`, 0.25 -> `250ms`."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{seconds * 1000:.4g}ms"
    if seconds < 60:
        return f"{seconds:.4g}s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{n}{u}" for n, u in parts if n) or "0s"


def _to_seconds(value: Any) -> Any:
    return parse_duration(value)


# A pydantic field type: accepts the forms above, holds float seconds.
Duration = Annotated[float, BeforeValidator(_to_seconds)]
