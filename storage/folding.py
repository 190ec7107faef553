"""Text as a person reads it: what pasted text hides (invisible characters, look-alike dashes and
spaces, fullwidth or compatibility forms) folded away, so that values that look the same compare
the same. The national-id rule (``storage.national_ids``) and the search for a citizen's
reference (``storage.goals``, erasure and subject access) both read text through ``fold``.

Case is kept: the data contract does not make citizen references case-insensitive (``clients``
counts distinct references as written).
"""

from __future__ import annotations

import functools
import re
import unicodedata

# The minus sign; dash punctuation (Unicode category Pd) folds to "-" as well.
EXTRA_DASHES = "\u2212"
# Characters that break a line (str.splitlines' line boundaries between words), and the tab:
# they separate like a space, so a number split across lines is still seen whole.
EXTRA_SPACES = "\t\n\r\v\f\x85\u2028\u2029"
_ASCII_SPACES = str.maketrans({c: " " for c in EXTRA_SPACES if c.isascii()})
# Where the characters that matter here live: the Basic Multilingual Plane, and beyond it the
# format characters (tags, musical and Egyptian format controls) and the digits that NFKC turns
# into 0-9 (mathematical and segmented digits).
_PLANES = (range(0x10000), range(0x110BD, 0x110CE), range(0x13430, 0x13440),
           range(0x1BCA0, 0x1BCA4), range(0x1D173, 0x1D17B), range(0x1D7CE, 0x1D800),
           range(0x1FBF0, 0x1FBFA), range(0xE0000, 0xE0080))


def _code_points():
    for plane in _PLANES:
        for code in plane:
            if not 0xD800 <= code <= 0xDFFF:
                yield code


@functools.cache
def _folding_table() -> dict[int, str | None]:
    """After NFKC: format characters (Cf: zero-width space and joiners, word joiner, BOM, soft
    hyphen, direction marks, tags) go, spaces (Zs, tab and line breaks) become " " and dashes
    "-"."""
    table: dict[int, str | None] = {ord(c): " " for c in EXTRA_SPACES}
    for code in _code_points():
        category = unicodedata.category(chr(code))
        if category == "Cf":
            table[code] = None
        elif category == "Zs":
            table[code] = " "
        elif category == "Pd":
            table[code] = "-"
    for dash in EXTRA_DASHES:
        table[ord(dash)] = "-"
    return table


def fold(text: str) -> str:
    """``text`` in NFKC, without invisible characters, every space variant (line breaks too) a
    space and every dash a hyphen-minus."""
    if text.isascii():  # NFKC leaves ASCII alone, and the table only touches tabs and breaks
        return text.translate(_ASCII_SPACES)
    return unicodedata.normalize("NFKC", text).translate(_folding_table())


@functools.cache
def variants() -> dict[str, frozenset[str]]:
    """Every folded single character (or "" for those that vanish) -> the characters that fold
    to it."""
    found: dict[str, set[str]] = {}
    for code in _code_points():
        char = chr(code)
        found.setdefault(fold(char), set()).add(char)
    return {folded: frozenset(chars) for folded, chars in found.items()}


def char_class(chars) -> str:
    """A regular-expression class of ``chars`` that Python's ``re`` and RE2 (pandas on Arrow
    strings) read alike."""
    escaped = "".join("\\" + c if c in "\\]^-[" else c for c in sorted(chars))
    return f"[{escaped}]"


@functools.cache
def _invisible() -> str:
    return char_class(variants()[""])


def lookalike(text: str) -> re.Pattern:
    """A pattern that finds ``text`` (its folded form) in unfolded text: each character in any
    form that folds to it (a decomposed letter too), invisible characters allowed anywhere
    within. It does not look at what comes before or after."""
    folded = fold(text)
    table = variants()
    pieces = []
    for char in folded:
        alternatives = [char_class(table.get(char, {char}) | {char})]
        decomposed = unicodedata.normalize("NFD", char)
        if decomposed != char:
            alternatives.append(re.escape(decomposed))
        pieces.append(alternatives[0] if len(alternatives) == 1
                      else "(?:" + "|".join(alternatives) + ")")
    return re.compile((_invisible() + "*").join(pieces))


def is_invisible(char: str) -> bool:
    return char in variants()[""]
