"""Reference lists (codes from API.md, names from the glossary and regions.csv)."""

from flask_babel import lazy_gettext as _l

REGIONS = {
    "abai": {"kk": "Абай облысы", "ru": "Абайская область", "en": "Abai Region"},
    "akmola": {"kk": "Ақмола облысы", "ru": "Акмолинская область", "en": "Akmola Region"},
    "aktobe": {"kk": "Ақтөбе облысы", "ru": "Актюбинская область", "en": "Aktobe Region"},
    "almaty_region": {"kk": "Алматы облысы", "ru": "Алматинская область", "en": "Almaty Region"},
    "atyrau": {"kk": "Атырау облысы", "ru": "Атырауская область", "en": "Atyrau Region"},
    "east_kazakhstan": {
        "kk": "Шығыс Қазақстан облысы",
        "ru": "Восточно-Казахстанская область",
        "en": "East Kazakhstan Region",
    },
    "zhambyl": {"kk": "Жамбыл облысы", "ru": "Жамбылская область", "en": "Zhambyl Region"},
    "zhetysu": {"kk": "Жетісу облысы", "ru": "Область Жетісу", "en": "Zhetysu Region"},
    "west_kazakhstan": {
        "kk": "Батыс Қазақстан облысы",
        "ru": "Западно-Казахстанская область",
        "en": "West Kazakhstan Region",
    },
    "karaganda": {"kk": "Қарағанды облысы", "ru": "Карагандинская область", "en": "Karaganda Region"},
    "kostanay": {"kk": "Қостанай облысы", "ru": "Костанайская область", "en": "Kostanay Region"},
    "kyzylorda": {"kk": "Қызылорда облысы", "ru": "Кызылординская область", "en": "Kyzylorda Region"},
    "mangystau": {"kk": "Маңғыстау облысы", "ru": "Мангистауская область", "en": "Mangystau Region"},
    "pavlodar": {"kk": "Павлодар облысы", "ru": "Павлодарская область", "en": "Pavlodar Region"},
    "north_kazakhstan": {
        "kk": "Солтүстік Қазақстан облысы",
        "ru": "Северо-Казахстанская область",
        "en": "North Kazakhstan Region",
    },
    "turkistan": {"kk": "Түркістан облысы", "ru": "Туркестанская область", "en": "Turkistan Region"},
    "ulytau": {"kk": "Ұлытау облысы", "ru": "Область Ұлытау", "en": "Ulytau Region"},
    "astana": {"kk": "Астана қаласы", "ru": "город Астана", "en": "Astana (city)"},
    "almaty": {"kk": "Алматы қаласы", "ru": "город Алматы", "en": "Almaty (city)"},
    "shymkent": {"kk": "Шымкент қаласы", "ru": "город Шымкент", "en": "Shymkent (city)"},
}

LEGAL_FORMS = {
    "public_association": {"kk": "қоғамдық бірлестік", "ru": "общественное объединение", "en": "public association"},
    "public_fund": {"kk": "қоғамдық қор", "ru": "общественный фонд", "en": "public fund"},
    "institution": {"kk": "мекеме", "ru": "учреждение", "en": "institution"},
    "association": {
        "kk": "заңды тұлғалар бірлестігі (қауымдастық, одақ)",
        "ru": "объединение юридических лиц (ассоциация, союз)",
        "en": "association of legal entities",
    },
    "initiative_group": {
        "kk": "бастамашыл топ (тіркелмеген)",
        "ru": "инициативная группа (без регистрации)",
        "en": "initiative group (unregistered)",
    },
}

SETTLEMENTS = {"rural": _l("rural"), "urban": _l("urban")}
GENDERS = {"female": _l("woman"), "male": _l("man")}


def region_name(code: str | None, locale: str) -> str:
    names = REGIONS.get(code or "")
    return names.get(locale, names["ru"]) if names else ""


def legal_form_name(code: str | None, locale: str) -> str:
    names = LEGAL_FORMS.get(code or "")
    return names.get(locale, names["ru"]) if names else ""


ROLE_LABELS = {"owner": _l("owner"), "editor": _l("editor")}


CITIES = ("astana", "almaty", "shymkent")


class RegionCodes:
    """Region codes in the alphabetical order of the display language (Kazakh by the Kazakh
    alphabet, Russian by the Russian one), the three cities last; sorted on each use."""

    def __iter__(self):
        from ..i18n import collation_key, current_locale

        loc = current_locale()
        return iter(sorted(REGIONS, key=lambda c: (c in CITIES, collation_key(region_name(c, loc), loc))))


def template_globals() -> dict:
    """Helpers the templates use to show codes as words in the current language."""
    from flask_babel import gettext as _

    from ..i18n import current_locale

    def status_label(declared: bool, verified: bool, verified_at) -> str:
        if not declared:
            return _("not declared")
        if verified:
            return _("declared and verified")
        if verified_at is not None:
            return _("declared, not confirmed by the manager")
        return _("declared, waiting for verification")

    return {
        "region_name": lambda code: region_name(code, current_locale()),
        "legal_form_name": lambda code: legal_form_name(code, current_locale()),
        "role_label": lambda code: str(ROLE_LABELS.get(code, code)),
        "settlement_label": lambda code: str(SETTLEMENTS.get(code, code)),
        "gender_label": lambda code: str(GENDERS.get(code, "—")),
        "status_label": status_label,
        "REGION_CODES": RegionCodes(),
        "theme_name": _theme_name,
    }


def _theme_name(code: str) -> str:
    """A theme's name in the current language (themes are few and cached per request)."""
    from flask import g

    from ..calls.models import Theme
    from ..extensions import db
    from ..i18n import current_locale

    names = g.get("_theme_names")
    if names is None:
        names = g._theme_names = {t.code: t for t in db.session.execute(db.select(Theme)).scalars()}
    theme = names.get(code)
    return theme.name(current_locale()) if theme else code
