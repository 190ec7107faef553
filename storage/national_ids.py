"""Recognise Danish CPR numbers and Norwegian fødselsnumre (D-numbers too) in values and text.

The contract (section 4) refuses anything that *looks like* one: a CPR number is ``DDMMYY-SSSS``
or ten digits whose first six form a valid date; a fødselsnummer is eleven digits whose first six
form a valid date, where a D-number adds 40 to the day. The modulus-11 check is deliberately not
applied: valid CPR numbers without it exist since 2007.

People paste them in many shapes, and every one is caught:

- grouped with a dash, a dot, a slash or spaces between the date and the serial number and
  between day, month and year: ``010190-1234``, ``010190 1234``, ``01 01 90 1234``,
  ``01.01.90-1234``, ``010190/1234``, ``010190 12345``;
- with any dash (en dash, em dash, non-breaking hyphen U+2011, minus sign ...) for ``-`` and any
  space (non-breaking, thin, ideographic, tab ...) for a space;
- with invisible characters anywhere within (zero-width space, joiners, word joiner, BOM, soft
  hyphen: every format character, Unicode category Cf), which are ignored;
- in fullwidth or other compatibility digits (``０１０１９０１２３４``): text is compared in its
  NFKC form.

Near misses stay accepted: phone numbers (``12 34 56 78``, ``+45 12 34 56 78``: eight digits, or
a "day" of 45 or 47), dates (``01.01.1990``, ``2026-11-30``), eight-digit and invoice numbers.
A dotted date followed by a four-digit time (``01.12.26 1430``) does look like a CPR number and
is refused; people write the time as ``kl. 14.30``.

One rule, two ways to run it: ``find_national_id`` checks one text, ``national_id_mask`` a
pandas column of millions of values. Both first apply ``prefilter()``, a regular expression that
pandas runs vectorised (with RE2 on Arrow strings) and that every value holding a national id
matches; only the few values it lets through are looked at closely. The pre-filter's character
classes are derived from the same folding (``storage.folding``) as the close look.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

import numpy as np

from storage.folding import char_class, fold, variants

if TYPE_CHECKING:
    import pandas as pd

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
SEPARATORS = "./"  # between the parts, besides a dash or spaces


@functools.cache
def prefilter() -> str:
    """Every character that folds to a digit, or to nothing, a space, a dash or a separator."""
    table = variants()
    noise = set().union(*(table.get(c, ()) for c in ("", " ", "-", *SEPARATORS)))

    def of(first: str) -> str:
        return char_class(set().union(*(table[d] for d in first)))

    gap = char_class(noise) + "*"
    digit = of("0123456789")
    # Day (0-3, or 4-7 for a D-number), month (0-1), then eight more digits.
    return (f"{of('01234567')}{gap}{digit}{gap}{of('01')}{gap}{digit}"
            f"(?:{gap}{digit}){{6}}")


@functools.cache
def _compiled_prefilter() -> re.Pattern:
    return re.compile(prefilter())


# On folded text: DD MM YY and four (CPR) or five (fødselsnummer) digits, each part optionally
# set off by a dash, dot or slash and spaces, not glued to other digits.
_GAP = r" *[-./]? *"
CANDIDATE = re.compile(rf"(?<![0-9])([0-7][0-9]){_GAP}([01][0-9]){_GAP}([0-9]{{2}}){_GAP}"
                       r"([0-9]{4,5})(?![0-9])")
MIN_LENGTH = 10  # characters: a value holding a national id has at least ten digits


def _valid_date(day: int, month: int, year: int, allow_d_number: bool) -> bool:
    if allow_d_number and day > 40:
        day -= 40
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return False
    # 29 February exists in some century for every year divisible by 4 (00 is 2000).
    return not (month == 2 and day == 29 and year % 4 != 0)


def _close_look(text: str) -> str | None:
    folded = fold(text)
    start = 0
    while (match := CANDIDATE.search(folded, start)) is not None:
        day, month, year, serial = match.groups()
        if _valid_date(int(day), int(month), int(year), allow_d_number=len(serial) == 5):
            return match.group(0)
        start = match.start() + 1  # overlapping candidates: "4101019012345"
    return None


def find_national_id(text: str) -> str | None:
    """The first part of ``text`` (folded) that looks like a CPR number or fødselsnummer, else
    None."""
    if len(text) < MIN_LENGTH or _compiled_prefilter().search(text) is None:
        return None
    return _close_look(text)


def looks_like_national_id(text: str) -> bool:
    return find_national_id(text) is not None


def national_id_mask(values: pd.Series, where: np.ndarray | None = None) -> np.ndarray:
    """Which of ``values`` (strings; missing values never) look like a CPR number or
    fødselsnummer: the same rule as ``find_national_id``, with the pre-filter vectorised.
    ``where`` limits the check to some positions (the rest are False)."""
    mask = np.zeros(len(values), dtype=bool)
    candidates = values.str.len().to_numpy(dtype="float64", na_value=0) >= MIN_LENGTH
    if where is not None:
        candidates &= where
    positions = np.flatnonzero(candidates)
    if not len(positions):
        return mask
    subset = values.iloc[positions] if len(positions) < len(values) else values
    shaped = subset.str.contains(prefilter(), regex=True).to_numpy(dtype=bool, na_value=False)
    suspects = positions[shaped]
    seen: dict[str, bool] = {}
    for i, value in zip(suspects, values.iloc[suspects].tolist(), strict=True):
        if value not in seen:
            seen[value] = _close_look(value) is not None
        mask[i] = seen[value]
    return mask
