"""Personal data kept out of stored and published free text: phone numbers, PRC ID numbers,
e-mail addresses. Every service that stores or publishes free text calls `scrub`.

`scrub` is pure and runs before anything is written (scorecard comments, citizen ratings).
Matching happens on a copy whose full-width digits, plus signs, hyphens and spaces (as
Chinese input methods type them) are folded to ASCII one character for one, so a span found
there is the same span in the original text, which keeps every other character as it was.
"""

from __future__ import annotations

import re

EMAIL = "[email]"
ID_NUMBER = "[id-number]"
PHONE = "[phone]"

_FOLD = str.maketrans(
    {
        **{chr(0xFF10 + d): str(d) for d in range(10)},  # ０-９
        "＋": "+",
        "－": "-",
        "—": "-",
        "‐": "-",
        "\u3000": " ",  # ideographic space
        "\u00a0": " ",
        "（": "(",
        "）": ")",
        "Ｘ": "X",
        "ｘ": "x",
        "＠": "@",
        "．": ".",
    }
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# 18 characters: region (6 digits, not starting with 0), birth date YYYYMMDD, sequence (3),
# check digit (0-9 or X); not part of a longer run of digits.
_ID_NUMBER = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx](?![0-9])"
)
# Mainland mobiles: 1[3-9]x xxxx xxxx, optionally +86 / 0086 / (+86), in one piece or split
# 3-4-4 by spaces or hyphens.
_MOBILE = re.compile(
    r"(?<![0-9+])(?:(?:\(\s*(?:\+|00)86\s*\)|(?:\+|00)86)[\s\-]*)?"
    r"1[3-9][0-9](?:[\s\-]?[0-9]{4}){2}(?![0-9])"
)
# Landlines with their area code: (0456)8221234, 0456-8221234, 010 12345678.
_LANDLINE = re.compile(
    r"(?<![0-9])(?:\(0[1-9][0-9]{1,2}\)\s*|0[1-9][0-9]{1,2}[\s\-])[0-9]{7,8}(?![0-9])"
)

_PATTERNS = ((_EMAIL, EMAIL), (_ID_NUMBER, ID_NUMBER), (_MOBILE, PHONE), (_LANDLINE, PHONE))


def scrub(text: str) -> str:
    """`text` with phone numbers, ID-card numbers and e-mail addresses replaced by markers
    (`[phone]`, `[id-number]`, `[email]`); everything else, ordinary numbers included, kept."""
    folded = text.translate(_FOLD)
    for pattern, marker in _PATTERNS:
        spans = [m.span() for m in pattern.finditer(folded)]
        if not spans:
            continue
        for start, end in reversed(spans):
            text = text[:start] + marker + text[end:]
            folded = folded[:start] + marker + folded[end:]
    return text
