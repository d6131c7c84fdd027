"""Sky coordinates as people type them: degrees or sexagesimal, ranges checked.

RA: decimal degrees (``266.42``), or hours when sexagesimal (``17:45:40``,
``17h45m40s``), or degrees with a unit (``266d25m``). Dec: decimal degrees or
sexagesimal degrees (``-29:00:28``, ``-29d00m28s``). RA outside [0, 360) and Dec
outside [-90, 90] are errors, never wrapped.
"""

from __future__ import annotations

import math
import re
import warnings

from roman_asn.errors import shown

_HOURS = re.compile(r"^[+-]?\d+(\.\d*)?\s*h", re.IGNORECASE)
_DEGREE_UNIT = re.compile(r"[d°]", re.IGNORECASE)


def _angle(text: str, default_unit: str) -> float:
    """Degrees of ``text``: a plain number, or sexagesimal in ``default_unit``."""
    from astropy import units as u
    from astropy.coordinates import Angle

    cleaned = text.strip()
    try:
        value = float(cleaned)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise ValueError(f"{shown(text)} is not a finite angle")
        return value
    unit = u.hourangle if default_unit == "hour" else u.deg
    if _HOURS.match(cleaned):
        unit = u.hourangle
    elif _DEGREE_UNIT.search(cleaned):
        unit = u.deg
    from astropy.coordinates import IllegalMinuteWarning, IllegalSecondWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 24h, 90d: the range check below speaks
            # 17:60:00 is no time: astropy only warns, and reads it as 18:00:00
            warnings.simplefilter("error", IllegalMinuteWarning)
            warnings.simplefilter("error", IllegalSecondWarning)
            return float(Angle(cleaned, unit=unit).to_value(u.deg))
    except (IllegalMinuteWarning, IllegalSecondWarning) as error:
        part = "minutes" if isinstance(error, IllegalMinuteWarning) else "seconds"
        raise ValueError(f"{shown(text)}: {part} must be below 60") from None
    except (ValueError, TypeError, ArithmeticError, u.UnitsError):
        # ArithmeticError: astropy's parser makes a float of each integer part, and
        # 1 followed by 400 zeros (h) overflowed out of it
        raise ValueError(
            f"{shown(text)} is not an angle (degrees such as 266.42, or sexagesimal such as "
            "17:45:40 / 17h45m40s for RA, -29:00:28 / -29d00m28s for Dec)"
        ) from None


def parse_ra(text: str) -> float:
    """RA in degrees, [0, 360). Sexagesimal without units is hours, as astronomers write RA."""
    value = _angle(text, "hour")
    if not 0.0 <= value < 360.0:
        raise ValueError(f"RA {text} is outside [0, 360) degrees")
    return value


def parse_dec(text: str) -> float:
    """Dec in degrees, [-90, 90]. Sexagesimal is degrees."""
    value = _angle(text, "deg")
    if not -90.0 <= value <= 90.0:
        raise ValueError(f"Dec {text} is outside [-90, 90] degrees")
    return value
