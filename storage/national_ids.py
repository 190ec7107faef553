"""Recognise Danish CPR numbers and Norwegian fødselsnumre (D-numbers too) in values and text.

The contract (section 4) refuses anything that *looks like* one: a CPR number is ``DDMMYY-SSSS``
or ten digits whose first six form a valid date; a fødselsnummer is eleven digits whose first six
form a valid date, where a D-number adds 40 to the day. The modulus-11 check is deliberately not
applied: valid CPR numbers without it exist since 2007. In free text the digits may be grouped
with a dash or spaces (``010190-1234``, ``010190 1234``, ``010190 12345``).
"""

from __future__ import annotations

import re

# Six digits, an optional dash or space(s), then four (CPR) or five (fødselsnummer) digits,
# not glued to other digits.
CANDIDATE = re.compile(r"(?<!\d)(\d{6})(?:[ \t]*-[ \t]*|[ \t]+)?(\d{4,5})(?!\d)")
# The same shape without groups, for vectorised pre-filtering (pandas ``str.contains``).
CANDIDATE_SHAPE = r"(?<!\d)\d{6}(?:[ \t]*-[ \t]*|[ \t]+)?\d{4,5}(?!\d)"

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_date(ddmmyy: str, allow_d_number: bool) -> bool:
    day, month, year = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    if allow_d_number and day > 40:
        day -= 40
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return False
    # 29 February exists in some century for every year divisible by 4 (00 is 2000).
    return not (month == 2 and day == 29 and year % 4 != 0)


def find_national_id(text: str) -> str | None:
    """The first part of ``text`` that looks like a CPR number or fødselsnummer, else None."""
    for match in CANDIDATE.finditer(text):
        birth, serial = match.group(1), match.group(2)
        is_cpr = len(serial) == 4
        if _valid_date(birth, allow_d_number=not is_cpr):
            return match.group(0)
    return None


def looks_like_national_id(text: str) -> bool:
    return find_national_id(text) is not None
