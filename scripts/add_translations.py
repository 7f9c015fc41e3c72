"""Add or update kk/ru translations from a JSON file, then compile the catalogs.

    .venv/bin/python scripts/add_translations.py new.json

new.json: {"English msgid": {"kk": "…", "ru": "…"}, …}; a plural message is keyed by its singular
and gives lists: {"%(n)d day": {"plural": "%(n)d days", "kk": ["…"], "ru": ["…", "…", "…"]}}.
Safe to run from several shells at once (a file lock). `make i18n` later re-extracts and keeps
these entries as long as the code still uses the msgids."""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "translations"


def main(path: str) -> int:
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    with (ROOT / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for lang in ("kk", "ru", "en"):
            po = ROOT / lang / "LC_MESSAGES" / "messages.po"
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            for msgid, value in entries.items():
                plural = value.get("plural")
                key = (msgid, plural) if plural else msgid
                string = value.get(lang, "" if not plural else ["", ""]) if lang != "en" else ("" if not plural else ["", ""])
                if isinstance(string, list):
                    string = tuple(string)
                existing = catalog.get(msgid)
                comments = list(existing.user_comments) if existing is not None else []  # glossary notes stay
                if existing is not None:
                    catalog.delete(msgid)
                catalog.add(key, string=string, user_comments=comments)
            with po.open("wb") as fh:
                write_po(fh, catalog, width=76, sort_output=True, include_lineno=False)
            with (po.with_suffix(".mo")).open("wb") as fh:
                write_mo(fh, catalog)
    print(f"{len(entries)} messages added to kk, ru (and en)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
