"""Put the settled glossary terms (../shared/GLOSSARY.md) on the kk and ru catalog entries that use
them, as translator comments: `# glossary: application = өтінім; call = байқау`.

    .venv/bin/python scripts/glossary_comments.py

Safe to run again (earlier glossary comments are replaced) and from several shells (the same file
lock as scripts/add_translations.py). `pybabel update` (make i18n) keeps translator comments."""

from __future__ import annotations

import fcntl
import re
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "translations"
PREFIX = "glossary:"

# en term, then (kk term, kk pattern) and (ru term, ru pattern); patterns match the lower-cased msgstr.
TERMS = [
    ("call for proposals", ("өтінімдер байқауы", r"өтінімдер байқау"), ("конкурс заявок", r"\bконкурс\w* заявок")),
    ("call", ("байқау", r"\bбайқау"), ("конкурс", r"\bконкурс")),
    ("applicant", ("өтініш беруші", r"өтініш беруш"), ("заявитель", r"\bзаявител")),
    ("application", ("өтінім", r"\bөтінім"), ("заявка", r"\bзаяв(?:к|ок)")),
    ("draft", ("қаралама", r"\bқаралама"), ("черновик", r"\bчерновик")),
    ("project", ("жоба", r"\bжоба"), ("проект", r"\bпроект")),
    ("NGO", ("ҮЕҰ", r"\bүеұ"), ("НПО", r"\bнпо\b")),
    ("lead organization", ("жетекші ұйым", r"жетекші ұйым"), ("ведущая организация", r"\bведущ\w* организац")),
    ("organization", ("ұйым", r"\bұйым"), ("организация", r"\bорганизац")),
    ("consortium", ("консорциум", r"консорциум"), ("консорциум", r"консорциум")),
    ("partner", ("серіктес", r"\bсеріктес"), ("партнёр", r"\bпартн[её]р")),
    ("initiative group", ("бастамашыл топ", r"бастамашыл топ"), ("инициативная группа", r"\bинициативн\w* групп")),
    ("review", ("сараптамалық бағалау", r"сараптамалық бағала"), ("экспертная оценка", r"\bэкспертн\w* оценк")),
    ("reviewer", ("сарапшы", r"\bсарапшы"), ("эксперт", r"\bэксперт(?!н)")),
    ("criterion", ("өлшем", r"\bөлшем"), ("критерий", r"\bкритери")),
    ("priority points", ("басымдық балдары", r"басымдық бал"), ("приоритетные баллы", r"\bприоритетн\w* балл")),
    ("women-led", ("әйелдер басқаратын", r"әйелдер басқаратын"), ("под руководством женщин", r"руководством женщин")),
    ("youth-led", ("жастар басқаратын", r"жастар басқаратын"), ("под руководством молодёжи", r"руководством молод")),
    ("rural", ("ауылдық", r"\bауылдық"), ("сельский", r"\bсельск")),
    ("deadline", ("соңғы мерзім", r"соңғы мерзім"), ("крайний срок подачи", r"\bкрайн\w* срок")),
    ("receipt", ("қабылданғаны туралы түбіртек", r"түбіртек"), ("подтверждение о получении", r"о получении")),
    ("eligibility", ("талаптарға сәйкестік", r"талаптарға сәйкес"), ("соответствие требованиям", r"соответстви\w* требовани")),
    ("conflict of interest", ("мүдделер қақтығысы", r"мүдделер қақтығыс"), ("конфликт интересов", r"конфликт\w* интерес")),
    ("decision", ("шешім", r"\bшешім"), ("решение", r"\bрешени")),
    ("appeal", ("апелляция", r"\bапелляци"), ("апелляция", r"\bапелляци")),
    ("award letter", ("грант беру туралы хат", r"грант беру туралы хат"), ("письмо о присуждении гранта", r"\bписьм\w* о присуждении")),
    ("agreement", ("келісімшарт", r"\bкелісімшарт"), ("договор", r"\bдоговор")),
    ("tranche", ("транш", r"транш"), ("транш", r"\bтранш")),
    ("report", ("есеп", r"\bесеп(?!те)"), ("отчёт", r"\bотч[её]т")),
    ("indicator", ("көрсеткіш", r"\bкөрсеткіш"), ("показатель", r"\bпоказател")),
    ("subscription", ("жазылым", r"\bжазылым"), ("подписка", r"\bподписк")),
    ("approve", ("бекіту / бекітілді", r"\bбекіт"), ("утвердить / утверждён", r"\bутвер[дж]")),
    ("biodiversity", ("биоәртүрлілік", r"биоәртүрлілік"), ("биоразнообразие", r"биоразнообраз")),
    ("object", ("объект", r"\bобъект"), ("объект", r"\bобъект")),
    ("Astana time", ("Астана уақыты", r"астана уақыт"), ("время Астаны", r"\bвремени? астаны")),
]
# A longer term already says the shorter one.
IMPLIES = {"call for proposals": {"call", "application"}, "lead organization": {"organization"},
           "review": {"reviewer"}, "award letter": set(), "applicant": set()}  # fmt: skip
COLUMN = {"kk": 1, "ru": 2}


def terms_in(text: str, lang: str) -> list[str]:
    found: list[str] = []
    lowered = text.lower()
    for row in TERMS:
        term, pattern = row[COLUMN[lang]]
        if re.search(pattern, lowered):
            found.append(f"{row[0]} = {term}")
    names = {f.split(" = ")[0] for f in found}
    hidden = set().union(*(IMPLIES.get(n, set()) for n in names))
    return [f for f in found if f.split(" = ")[0] not in hidden]


def lines(found: list[str], width: int = 70) -> list[str]:
    """The terms packed into comment lines short enough for the .po writer not to wrap them."""
    out: list[str] = []
    for item in found:
        if out and len(out[-1]) + 2 + len(item) <= width:
            out[-1] += "; " + item
        else:
            out.append(f"{PREFIX} {item}")
    return out


def main() -> int:
    with (ROOT / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for lang in COLUMN:
            po = ROOT / lang / "LC_MESSAGES" / "messages.po"
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            marked = 0
            for message in catalog:
                if not message.id:
                    continue
                kept = [c for c in message.user_comments if not c.startswith(PREFIX)]
                strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
                found = terms_in(" ".join(s for s in strings if s), lang)
                message.user_comments = kept + lines(found)
                marked += bool(found)
            with po.open("wb") as fh:
                write_po(fh, catalog, width=76, sort_output=True, include_lineno=False)
            with po.with_suffix(".mo").open("wb") as fh:
                write_mo(fh, catalog)
            print(f"{lang}: {marked} entries carry glossary comments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
