"""Kazakhstan's Business Identification Number (BIN): 12 digits, the last a check digit."""

from __future__ import annotations

_FIRST = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first11: str) -> int | None:
    """The check digit for 11 digits, or None when the algorithm gives none (such numbers
    are never issued)."""
    digits = [int(c) for c in first11]
    rest = sum(d * w for d, w in zip(digits, _FIRST, strict=True)) % 11
    if rest == 10:
        rest = sum(d * w for d, w in zip(digits, _SECOND, strict=True)) % 11
    return None if rest == 10 else rest


def is_valid_bin(value: str) -> bool:
    if len(value) != 12 or not value.isdigit():
        return False
    return check_digit(value[:11]) == int(value[11])


def complete_bin(first11: str) -> str:
    """Append the check digit (for demo data and tests)."""
    digit = check_digit(first11)
    if digit is None:
        raise ValueError("no check digit exists for these 11 digits")
    return first11 + str(digit)
