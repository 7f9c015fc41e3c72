"""Partner search finds Kazakh and Russian names in any case and in Latin, on SQLite and
PostgreSQL alike (finding B5: SQLite's lower() folds ASCII only, so «Арал» found nothing)."""

import unicodedata
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import PG_URL, RUN_ID, _base_config, _sqlalchemy_url, login, unavailable
from flask_babel import force_locale
from flask_babel import gettext as _
from hypothesis import given
from hypothesis import strategies as st

from grants.core import search
from grants.core.search import fold, loose, matches, search_key, terms, translit
from grants.extensions import db
from grants.organizations import services
from grants.organizations.bin import complete_bin
from grants.organizations.models import Organization, organization_search_text
from grants.organizations.reference import REGIONS

KAZAKH = "әғқңөұүһі"
RUSSIAN = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"

# --- fold ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Арал", "арал"),
        ("АРАЛ", "арал"),
        ("арал", "арал"),
        ("ЖАСЫЛ ӘЛЕМ", "жасыл әлем"),
        ("ҚЫЗЫЛОРДА", "қызылорда"),
        ("ҢҒӨҰҮҺІ", "ңғөұүһі"),  # Kazakh capitals become Kazakh small letters, not Russian ones
        ("Ертіс", "ертіс"),
        ("Семёновка", "семеновка"),
        ("ЁЛКА", "елка"),
        ("Straße", "strasse"),
        ("ＡＲＡＬ", "aral"),  # full-width Latin (NFKC)
        ("ﬁlm", "film"),  # ligature (NFKC)
        ("İstanbul", "istanbul"),  # no stray combining dot
        ("Й", "й"),  # й stays one letter
        ("И\u0306", "й"),  # и + combining breve (macOS) is й
        ("ОФ «Арал»", "оф «арал»"),  # punctuation is kept by fold
        ("", ""),
        (None, ""),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_fold_keeps_every_kazakh_letter_and_merges_only_yo():
    for small in KAZAKH:
        assert fold(small) == small and fold(small.upper()) == small
    for small in RUSSIAN:
        assert fold(small.upper()) == ("е" if small == "ё" else small)


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


# --- translit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "latin"),
    [
        ("Арал", "Aral"),
        ("Жасыл", "Zhasyl"),
        ("ЖАСЫЛ", "ZHASYL"),
        ("Семей", "Semey"),
        ("Шығыс", "Shygys"),
        ("Қызылорда", "Qyzylorda"),
        ("Кызылорда", "Kyzylorda"),
        ("Ертіс жағалауы", "Ertis zhagalauy"),
        ("Маңғыстау", "Mangystau"),
        ("Теңіз", "Tengiz"),
        ("Ақтөбе", "Aqtobe"),
        ("Өскемен", "Oskemen"),
        ("Түркістан", "Turkistan"),
        ("Ұлытау", "Ulytau"),
        ("Жетісу", "Zhetisu"),
        ("Һ", "H"),
        ("Щучинск", "Shchuchinsk"),
        ("Объединение", "Obedinenie"),
        ("Цесна", "Tsesna"),
        ("Юг", "Yug"),
        ("Ясная", "Yasnaya"),
        ("Хромтау", "Khromtau"),
        ("Эко", "Eko"),
        ("Ёлка", "Elka"),
        ("ОФ «Арал» 2026", "OF «Aral» 2026"),
        ("EcoCenter", "EcoCenter"),  # Latin stays as it is
        ("", ""),
    ],
)
def test_translit(text, latin):
    assert translit(text) == latin


def test_translit_turns_every_kazakh_and_russian_letter_into_ascii():
    for letter in KAZAKH + RUSSIAN:
        for case in (letter, letter.upper()):
            out = translit(case)
            assert out.isascii() and (out.isalpha() or letter in "ъь"), (case, out)


@pytest.mark.parametrize(
    ("cyrillic", "typed"),
    [
        ("Арал", ["aral", "Aral", "ARAL"]),
        ("Жасыл", ["zhasyl", "Zhasyl", "jasyl", "jasıl", "zhasil"]),
        ("Семей", ["semey", "Semei", "semei", "SEMEY"]),
        ("Шығыс", ["shygys", "shyghys", "şyğys", "shigis", "Shyğys"]),
        ("Қызылорда", ["kyzylorda", "qyzylorda", "Qyzylorda", "kizilorda", "qızılorda"]),
        ("Ақтөбе", ["aktobe", "aqtöbe", "Aqtobe"]),
        ("Маңғыстау", ["mangystau", "mangistau", "Mañğystau", "manğystau"]),
        ("Өскемен", ["oskemen", "öskemen"]),
        ("Түркістан", ["turkistan", "türkistan"]),
        ("Ұлытау", ["ulytau", "ūlytau"]),
        ("Жетісу", ["zhetisu", "zhetysu", "jetisu"]),
        ("Алматинская", ["almatinskaya", "almatinskaia"]),
        ("Ертіс", ["ertis", "Ertıs"]),
        ("Ертис", ["ertis"]),  # і typed as Russian и
        ("Семэй", ["semey"]),
        ("Центр", ["tsentr", "centr"]),
        ("Хромтау", ["khromtau", "hromtau"]),
        ("Касса", ["kasa", "kassa"]),
        ("Детский", ["detskiy", "detsky", "detskii"]),
    ],
)
def test_loose_latin_meets_every_common_spelling(cyrillic, typed):
    for spelling in typed:
        assert loose(spelling) == loose(cyrillic), (spelling, loose(spelling), loose(cyrillic))


@given(st.text())
def test_loose_is_plain_ascii_words(text):
    out = loose(text)
    assert all(word.isascii() and word.isalnum() for word in out.split())
    assert loose(out) == out  # a loose form is its own loose form


@given(st.text(alphabet=st.sampled_from(KAZAKH + RUSSIAN + RUSSIAN.upper() + " -«»"), min_size=1))
def test_every_word_of_a_text_is_found_in_its_key(text):
    """What the column holds (search_key) contains, for each word of the text, one of the
    forms the query is matched by (terms): the Python twin of `matches`."""
    key = search_key(text)
    for forms in terms(text):
        assert any(form in key for form in forms)
    for forms in terms(translit(text)):  # the same words typed in Latin
        assert any(form in key for form in forms)


def test_search_key_keeps_each_form_once_and_the_region_in_three_languages():
    key = organization_search_text(name="ОФ «Арал» Арал", settlement_name="Арал", description="", region="kyzylorda")
    words = key.split()
    assert words.count("арал") == 1 and words.count("aral") == 1
    for name in REGIONS["kyzylorda"].values():
        assert all(form in key for forms in terms(name) for form in forms[:1])


def test_query_terms_are_bounded_and_punctuation_is_not_a_wildcard():
    assert len(terms(" ".join(f"w{n}" for n in range(50)))) == search.MAX_TERMS
    assert terms("%") == [] and terms("_") == [] and terms("«»—") == []
    assert terms("Восточно-Казахстанская") == [("восточно", "vostochno"), ("казахстанская", "kazahstanskaia")]
    assert matches("", Organization.search_text) == []


def test_nfd_input_finds_nfc_text():
    decomposed = unicodedata.normalize("NFD", "Семей Ақтөбе Йошкар")
    assert search_key(decomposed) == search_key("Семей Ақтөбе Йошкар")


# --- the database: both SQLite and PostgreSQL ----------------------------------------------

ORGS = {
    "aral": dict(name="ОФ «Арал тағдыры»", region="kyzylorda", settlement_name="Арал",
                 description="Теңізді сақтау, балық шаруашылығы"),
    "zhasyl": dict(name="Жасыл Әлем", region="almaty_region", settlement_name="Қаскелең",
                   description="Озеленение сёл и школ"),
    "semey": dict(name="Семей экологиялық орталығы", region="abai", settlement_name="Семей",
                  description="Полигон, радиация, мониторинг"),
    "ertis": dict(name="Ертіс жағалауы", region="pavlodar", settlement_name="Павлодар",
                  description="Өзен жағасын тазалау акциялары"),
    "eco": dict(name="EcoCenter Shymkent", region="shymkent", settlement_name="", description="Waste sorting"),
}  # fmt: skip

QUERIES = {
    "Арал": {"aral"}, "арал": {"aral"}, "АРАЛ": {"aral"}, "aral": {"aral"}, "Aral": {"aral"},
    "Жасыл": {"zhasyl"}, "жасыл": {"zhasyl"}, "zhasyl": {"zhasyl"}, "jasyl": {"zhasyl"},
    "семей": {"semey"}, "Семей": {"semey"}, "Semey": {"semey"}, "semei": {"semey"},
    "Ертіс": {"ertis"}, "ертіс": {"ertis"}, "ЕРТІС": {"ertis"}, "Ertis": {"ertis"}, "Ертис": {"ertis"},
    # regions, in kk, ru and en, and in Latin
    "Алматы облысы": {"zhasyl"}, "Алматинская": {"zhasyl"}, "Almaty": {"zhasyl"}, "алматы": {"zhasyl"},
    "Қызылорда": {"aral"}, "Kyzylorda": {"aral"}, "qyzylorda": {"aral"}, "Кызылординская": {"aral"},
    "Абай облысы": {"semey"}, "Павлодарская область": {"ertis"}, "Shymkent": {"eco"}, "Шымкент": {"eco"},
    # words of the description, and of the place
    "озеленение": {"zhasyl"}, "сёл": {"zhasyl"}, "СЕЛ": {"zhasyl"}, "радиация": {"semey"},
    "балық": {"aral"}, "тазалау": {"ertis"}, "Қаскелең": {"zhasyl"}, "kaskelen": {"zhasyl"},
    "waste": {"eco"}, "ECOCENTER": {"eco"}, "экоцентр": set(),
    # several words: each must be found
    "жасыл алматы": {"zhasyl"}, "арал семей": set(), "«Арал»": {"aral"}, "ОФ Арал": {"aral"},
    # a part of a word; not found; wildcards are plain characters
    "жаға": {"ertis"}, "Байқоңыр": set(), "50%": set(), "жаға_%": {"ertis"},
}  # fmt: skip


@pytest.fixture
def directory(app, users):
    owner = users("owner@example.kz")
    made = {}
    for n, (key, values) in enumerate(ORGS.items()):
        made[key] = services.create(
            owner, {**_profile(n), **values, "public_profile": True, "themes": []}
        )  # fmt: skip
    hidden = services.create(owner, {**_profile(9), "name": "Арал жасырын", "public_profile": False})
    return made, hidden


def _profile(n: int) -> dict:
    from conftest import org_data

    return org_data(bin=complete_bin(f"2005400{n:04d}"))


def test_search_finds_cyrillic_and_latin_in_any_case_on_both_databases(directory):
    made, hidden = directory
    names = {org.id: key for key, org in made.items()}
    wrong = {}
    for query, expected in QUERIES.items():
        found = {names.get(org.id, org.name) for org in services.directory(query=query)}
        if found != expected:
            wrong[query] = (sorted(found), sorted(expected))
    assert wrong == {}
    everyone = {org.id for org in made.values()}
    assert {org.id for org in services.directory(query="")} == everyone
    assert {org.id for org in services.directory(query="%")} == everyone  # no word: as if empty
    assert [org.id for org in services.directory(query=made["aral"].bin)] == [made["aral"].id]
    assert [org.id for org in services.directory(query="Арал", region="kyzylorda")] == [made["aral"].id]
    assert services.directory(query="Арал", region="abai") == []


def test_search_text_follows_every_edit_of_name_region_and_description(directory):
    made, _hidden = directory
    org = made["zhasyl"]
    data = services.snapshot(org) | {"name": "Көк Тау", "region": "east_kazakhstan", "description": "Орман"}
    services.update(org_owner(org), org, data)
    db.session.expire_all()
    assert [o.id for o in services.directory(query="Көк тау")] == [org.id]
    assert [o.id for o in services.directory(query="kok tau")] == [org.id]
    assert [o.id for o in services.directory(query="Восточно-Казахстанская")] == [org.id]
    assert [o.id for o in services.directory(query="Шығыс")] == [org.id]
    assert [o.id for o in services.directory(query="shygys")] == [org.id]
    assert [o.id for o in services.directory(query="орман")] == [org.id]
    assert services.directory(query="Жасыл") == [] and services.directory(query="озеленение") == []
    assert services.directory(query="Алматинская") == []
    stored = db.session.execute(sa.select(Organization.search_text).filter_by(id=org.id)).scalar_one()
    assert stored == organization_search_text(name="Көк Тау", settlement_name=org.settlement_name,
                                              description="Орман", region="east_kazakhstan")  # fmt: skip


def org_owner(org):
    from grants.accounts.models import User
    from grants.organizations.models import Membership

    return db.session.execute(
        sa.select(User).join(Membership, Membership.user_id == User.id).filter_by(organization_id=org.id)
    ).scalar_one()


def _page(client, url: str, lang: str) -> str:
    client.get(f"/language/{lang}")
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_directory_page_shows_the_hits_in_kazakh_and_russian(directory, client):
    for lang, region in (("kk", "Қызылорда облысы"), ("ru", "Кызылординская область")):
        for query in ("Арал", "aral", "АРАЛ"):
            html = _page(client, f"/directory?q={query}", lang)
            assert "ОФ «Арал тағдыры»" in html
            assert region in html and "Жасыл Әлем" not in html and "Арал жасырын" not in html
        html = _page(client, "/directory?q=Байқоңыр", lang)
        with force_locale(lang):
            assert _("Nothing to show.") in html


def test_consortium_partner_search_finds_by_latin_and_lowercase(directory, client, users):
    users("lead@example.kz")
    login(client, "lead@example.kz")
    for lang, region in (("kk", "Алматы облысы"), ("ru", "Алматинская область")):
        for query in ("zhasyl", "жасыл", "Алматы"):
            html = _page(client, f"/consortia/new?q={query}&action=search", lang)
            assert "Жасыл Әлем" in html and region in html and "Ертіс жағалауы" not in html


@contextmanager
def counting():
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def test_search_page_queries_do_not_grow_with_the_organizations(app, users, client):
    owner = users("many@example.kz")

    def add(start: int, count: int) -> None:
        for n in range(start, start + count):
            services.create(owner, {**_profile(n), "name": f"Арал {n}", "public_profile": True,
                                    "themes": ["water"] if n % 2 else []})  # fmt: skip

    def queries() -> int:
        client.get("/directory?q=арал")  # warm-up: the first request loads themes and translations
        with counting() as statements:
            html = client.get("/directory?q=aral").get_data(as_text=True)
        return len(statements), html.count("<li><strong>")

    add(0, 2)
    few, shown_few = queries()
    add(2, 18)
    many, shown_many = queries()
    assert (shown_few, shown_many) == (2, 20)
    assert many == few


# --- the migration fills the column for organizations that existed before ------------------


def _database(kind: str, tmp_path: Path):
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.sqlite3'}", None
    admin = _sqlalchemy_url(PG_URL)
    try:
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001  (any connection failure means: not reachable)
        unavailable("PostgreSQL", f"{PG_URL}: {type(exc).__name__}")
    name = f"grants_test_{RUN_ID}_search"
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False), (engine, name)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migration_0012_fills_the_search_text_of_existing_organizations(kind, tmp_path):
    from flask_migrate import downgrade, upgrade

    from grants import create_app

    url, pg = _database(kind, tmp_path)
    migration_app = create_app(_base_config(url, tmp_path))
    try:
        with migration_app.app_context():
            upgrade(revision="0011_section_versions")
            now = datetime.now(UTC)
            rows = [
                {"name": f"Арал {n}", "legal_form": "initiative_group", "region": "kyzylorda", "settlement": "rural",
                 "settlement_name": "Жосалы", "description": "Балық", "created_at": now, "updated_at": now}
                for n in range(3)
            ]  # fmt: skip
            organization = sa.table("organization", *(sa.column(k) for k in rows[0]))
            with db.engine.begin() as conn:
                conn.execute(organization.insert(), rows)
            upgrade(revision="0012_search_text")
            with db.engine.connect() as conn:
                stored = conn.execute(sa.text("SELECT name, search_text FROM organization ORDER BY id")).all()
            assert [text for _name, text in stored] == [
                organization_search_text(name=r["name"], settlement_name="Жосалы", description="Балық",
                                         region="kyzylorda") for r in rows
            ]  # fmt: skip
            assert "aral" in stored[0][1] and "қызылорда" in stored[0][1] and "kyzylorda region" in stored[0][1]
            downgrade(revision="0011_section_versions")
            with db.engine.connect() as conn:
                columns = {c["name"] for c in sa.inspect(conn).get_columns("organization")}
            assert "search_text" not in columns
            db.engine.dispose()
    finally:
        if pg is not None:
            engine, name = pg
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            engine.dispose()
