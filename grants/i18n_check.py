"""`python -m grants.i18n_check translations`: fail when kk or ru has an empty or fuzzy
message, a placeholder that differs from the msgid, Russian left in the kk catalog, or a Kazakh case
ending glued to a name («%(name)s-ның», «%(name)sын», «%(org)s ұйымын»: a name that already ends in
its legal form cannot take one; put the name after a colon or in brackets instead)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# A text placeholder followed by letters, by a hyphen and letters, or by «ұйым» with an ending.
GLUED_SUFFIX = re.compile(r"%\(\w+\)s»?(?:-?[^\W\d_]|\s+ұйым[^\W\d_]+)")


def glued_suffixes(text: str) -> list[str]:
    """The places in a Kazakh msgstr where a case ending is attached to a placeholder."""
    return [m.group(0) for m in GLUED_SUFFIX.finditer(text or "")]


def problems(folder: Path) -> list[str]:
    found: list[str] = []
    catalogs = {}
    for lang in ("kk", "ru"):
        with (folder / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalogs[lang] = read_po(fh, locale=lang)
    for lang, catalog in catalogs.items():
        for message in catalog:
            if not message.id:
                continue
            forms = [message.string] if isinstance(message.string, str) else list(message.string)
            if not all(form.strip() for form in forms):
                found.append(f"{lang}: untranslated: {message.id!r}")
                continue
            if message.fuzzy:
                found.append(f"{lang}: fuzzy: {message.id!r}")
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            if any(sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(form)) for form in forms):
                found.append(f"{lang}: placeholders differ: {message.id!r}")
            if lang == "kk" and any(glued_suffixes(form) for form in forms):
                found.append(f"kk: case ending glued to a name: {message.id!r}")
    ru = {m.id: m.string for m in catalogs["ru"] if m.id}
    for message in catalogs["kk"]:
        text = message.string
        if not message.id or not isinstance(text, str) or not text:
            continue
        words = re.findall(r"[А-Яа-яЁё]{4,}", PLACEHOLDER.sub("", text))
        if len(words) >= 3 and not KAZAKH_LETTERS & set(text) and text == ru.get(message.id):
            found.append(f"kk: looks like Russian left in the Kazakh catalog: {text!r}")
    return found


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "translations")
    found = problems(folder)
    for line in found:
        print(line)
    print(f"i18n check: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
