"""Search text that behaves the same on SQLite and PostgreSQL, in Kazakh, Russian and Latin.

SQLite's lower() and LIKE fold ASCII letters only, so «арал» never met «Арал» there. Nothing
is folded by the database any more: the searchable text is normalised here, in Python, and
stored in a column (`search_key`); a query is normalised the same way and compared with a
plain LIKE on both databases (`matches`).

Each word is kept in two forms:
- folded (`fold`): NFKC, casefold, ё→е; Kazakh letters stay as they are. «АРАЛ», «Арал» and
  «арал» are one word.
- loose Latin (`loose`): the word transliterated (`translit`) and then the spelling variants
  people type collapsed (q/k, ğ/gh/g, zh/j, y/ı/i, ä/a, ö/o, ü/ū/u, ş/sh, ts/c, doubled
  letters). «Жасыл», "zhasyl", "jasyl" and "jasıl" meet in one form, as do «Семей», "Semey"
  and "Semei", or «Қызылорда», "Kyzylorda" and "Qyzylorda".
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import or_

MAX_TERMS = 8  # words of one query that count; the rest only widen the search, so they are dropped

# Kazakh and Russian Cyrillic to the Latin most people type (BGN/PCGN-like for Russian; the
# Kazakh letters as in the 2021 Latin alphabet without diacritics). Lower case; `translit`
# restores the case.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Kazakh
    "ә": "a", "ғ": "g", "қ": "q", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
    # Ukrainian and Belarusian letters that turn up in names
    "є": "ye", "ї": "yi", "ў": "u", "ґ": "g",
}  # fmt: skip

# Latin letters with marks as they are typed without them (Kazakh Latin of 2017/2018/2021,
# Turkish, Uzbek keyboards). Anything else with a mark loses the mark (NFKD).
_LATIN_MARKS = str.maketrans({
    "ä": "a", "ö": "o", "ü": "u", "ū": "u", "ı": "i", "ğ": "g", "ǵ": "g", "ş": "sh", "ș": "sh",
    "š": "sh", "ç": "ch", "č": "ch", "ž": "zh", "ñ": "ng", "ń": "n", "ý": "y", "æ": "ae",
    "ø": "o", "ł": "l", "đ": "d",
})  # fmt: skip

# Spellings of one sound, reduced to one form, in this order (longest first).
_VARIANTS = (("shch", "sh"), ("zh", "j"), ("kh", "h"), ("gh", "g"), ("ts", "c"), ("q", "k"), ("y", "i"))

_APOSTROPHES = re.compile("['’ʼʻ`´]")
_SEPARATORS = re.compile(r"[\W_]+")
_DOUBLED = re.compile(r"(.)\1+")


def fold(text: str | None) -> str:
    """Case-insensitive form: NFKC, casefold, ё→е (Kazakh letters kept, punctuation kept)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    # "İ".casefold() is "i" + COMBINING DOT ABOVE; the dot means nothing to a search.
    return text.replace("i\u0307", "i").replace("ё", "е")


def _capitalised(latin: str, text: str, index: int) -> str:
    """The Latin for the capital at text[index]: all capitals inside a word in capitals
    ("ЖАСЫЛ" → "ZHASYL"), else only the first letter ("Жасыл" → "Zhasyl")."""
    after = text[index + 1] if index + 1 < len(text) else ""
    before = text[index - 1] if index else ""
    if after.isupper() or (before.isupper() and not after.islower()):
        return latin.upper()
    return latin[:1].upper() + latin[1:]


def translit(text: str | None) -> str:
    """Cyrillic (Kazakh and Russian) in the Latin people type: Арал → Aral, Жасыл → Zhasyl,
    Семей → Semey, Шығыс → Shygys, Қызылорда → Qyzylorda. The case is kept; anything that
    is not Cyrillic is left as it is."""
    text = unicodedata.normalize("NFC", text or "")
    out = []
    for index, char in enumerate(text):
        lower = char.lower()
        latin = _CYRILLIC.get(lower)
        if lower == "ң" and text[index + 1 : index + 2].lower() in ("г", "ғ", "к", "қ"):
            latin = "n"  # Маңғыстау → Mangystau, not Manggystau
        if latin is None:
            out.append(char)
        elif char != lower:
            out.append(_capitalised(latin, text, index))
        else:
            out.append(latin)
    return "".join(out)


def _loose_word(word: str) -> str:
    """One folded word as loose Latin (only ASCII letters and digits)."""
    latin = translit(word).translate(_LATIN_MARKS)
    latin = "".join(c for c in unicodedata.normalize("NFKD", latin) if c.isascii() and c.isalnum())
    while True:  # until nothing changes: one variant may make another ("qh" → "kh" → "h")
        before = latin
        for variant, canonical in _VARIANTS:
            latin = latin.replace(variant, canonical)
        latin = _DOUBLED.sub(r"\1", latin)
        if latin == before:
            break
    return latin


def words(text: str | None) -> list[str]:
    """The folded words of a text: apostrophes dropped inside words, any other punctuation
    separates ("Восточно-Казахстанская" is two words)."""
    return [w for w in _SEPARATORS.split(_APOSTROPHES.sub("", fold(text))) if w]


def loose(text: str | None) -> str:
    """The loose Latin form of a text, word by word: «Жасыл Әлем» → "jasil alem"."""
    return " ".join(w for w in (_loose_word(word) for word in words(text)) if w)


def search_key(*texts: str | None) -> str:
    """One column value for all `texts`: each word folded and in loose Latin, each distinct
    form once (a query word is found as a part of one of them)."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            seen.setdefault(word, None)
            latin = _loose_word(word)
            if latin:
                seen.setdefault(latin, None)
    return " ".join(seen)


def terms(query: str | None) -> list[tuple[str, ...]]:
    """The query's words, each as its distinct forms (folded, loose Latin); at most MAX_TERMS."""
    out: list[tuple[str, ...]] = []
    for word in words(query):
        forms = tuple(dict.fromkeys(f for f in (word, _loose_word(word)) if f))
        if forms not in out:
            out.append(forms)
    return out[:MAX_TERMS]


def matches(query: str | None, column) -> list:
    """SQL conditions (to AND together) that `column`, filled by `search_key`, holds every
    word of `query`, as typed (folded) or in Latin. Empty when the query has no words.
    Plain LIKE on text that is already folded: the same answer on SQLite and PostgreSQL."""
    return [or_(*(column.contains(form, autoescape=True) for form in forms)) for forms in terms(query)]
