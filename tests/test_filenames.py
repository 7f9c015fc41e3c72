"""File names in Kazakh and Russian are kept: stored and shown as given (made safe), sent in
downloads as `filename*=UTF-8''…` with an ASCII fallback; only the storage key is random."""

import io
import re
import unicodedata
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, api_login, call_data, login, org_data, post_form
from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header

from grants.applications import services as applications
from grants.applications.models import Attachment
from grants.calls import services as calls
from grants.consortia import services as consortia
from grants.core import uploads
from grants.core.errors import UnsupportedMediaType
from grants.core.uploads import ascii_name, content_disposition, display_name
from grants.extensions import db
from grants.organizations.bin import complete_bin
from grants.organizations.models import Organization

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
USTAV, ZHARGY = "Устав ОФ Арал.pdf", "Жарғы (2026).pdf"


# --- the name kept -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "extension", "kept"),
    [
        (USTAV, ".pdf", USTAV),
        (ZHARGY, ".pdf", ZHARGY),
        ("Қаржы есебі 2026.xlsx", ".xlsx", "Қаржы есебі 2026.xlsx"),
        ("фото.PNG", ".png", "фото.png"),
        ("фото.jpeg", ".jpg", "фото.jpg"),
        ("Устав.pdf", ".png", "Устав.png"),  # the content decides the extension
        ("Устав", ".pdf", "Устав.pdf"),
        ("Отчёт 1.5", ".pdf", "Отчёт 1.5.pdf"),  # "5" is not an extension
        ("../../etc/passwd.pdf", ".pdf", "passwd.pdf"),
        ("..\\..\\Windows\\system.ini.pdf", ".pdf", "system.ini.pdf"),
        ("C:\\fakepath\\Жарғы.pdf", ".pdf", "Жарғы.pdf"),
        ("/", ".pdf", "file.pdf"),
        ("..", ".pdf", "file.pdf"),
        (".pdf", ".pdf", "file.pdf"),
        (".hidden", ".pdf", "hidden.pdf"),
        ("", ".pdf", "file.pdf"),
        (None, ".pdf", "file.pdf"),
        ("Устав\x00ОФ.pdf", ".pdf", "Устав ОФ.pdf"),
        ("Устав\x07\x1b[31mОФ.pdf", ".pdf", "Устав [31mОФ.pdf"),
        ("Устав\r\nОФ\t Арал .pdf", ".pdf", "Устав ОФ Арал.pdf"),
        ("  Устав    ОФ  .pdf", ".pdf", "Устав ОФ.pdf"),
        ("invoice\u202efdp.exe", ".pdf", "invoicefdp.pdf"),  # RLO dropped; the claimed .exe replaced
        ("\u2066Устав\u2069\u200b\ufeff.pdf", ".pdf", "Устав.pdf"),  # isolates, zero-width space, BOM
        ("Жарғы\u2028(2026).pdf", ".pdf", "Жарғы (2026).pdf"),  # line separator is whitespace
        (unicodedata.normalize("NFD", "Йошкар Әлем.pdf"), ".pdf", "Йошкар Әлем.pdf"),  # macOS NFD → NFC
        ("Устав «Арал»: 2026?.pdf", ".pdf", "Устав «Арал»: 2026?.pdf"),  # shown as given; the header quotes it
    ],
)
def test_display_name(given, extension, kept):
    assert display_name(given, extension) == kept


def test_a_long_name_is_cut_to_the_column_keeping_the_extension():
    name = display_name("Ә" * 400 + ".pdf", ".pdf")
    assert len(name) == uploads.NAME_LIMIT and name.endswith("Ә.pdf")
    assert display_name("Ә" * 250 + " more.pdf", ".pdf") == "Ә" * 250 + ".pdf"  # no space left before the dot


def test_every_file_name_column_holds_the_longest_kept_name(app):
    columns = [c for table in db.metadata.tables.values() for c in table.columns if c.name.endswith("filename")]
    assert len(columns) >= 4  # attachments, report files, evidence, call guideline
    assert all(c.type.length >= uploads.NAME_LIMIT for c in columns)


# --- the download header -------------------------------------------------------------------


def rfc6266(header: str) -> tuple[str, str, str]:
    """(disposition, ASCII filename, filename* decoded) read the way clients read them."""
    disposition, params = parse_options_header(header)
    star = re.search(r"filename\*=([^;]+)", header).group(1).strip()
    charset, _lang, encoded = star.split("'", 2)
    assert charset == "UTF-8" and re.fullmatch(r"[A-Za-z0-9!#$&+\-.^_`|~%]*", encoded)  # RFC 8187 attr-chars
    # werkzeug's reader, like a browser, prefers filename* to filename
    assert params["filename"] == unquote(encoded, encoding="utf-8")
    plain = re.search(r'filename="([^"]*)"', header).group(1)
    assert plain.isascii() and plain.isprintable()
    return disposition, plain, unquote(encoded, encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        (USTAV, "Ustav OF Aral.pdf"),
        (ZHARGY, "Zhargy (2026).pdf"),
        ("Қаржы есебі.xlsx", "Qarzhy esebi.xlsx"),
        ("文件.pdf", "file.pdf"),
        ('a"b\\c.pdf', "a b c.pdf"),
        ("report; name=evil.pdf", "report; name=evil.pdf"),
        ("100% ready.pdf", "100% ready.pdf"),
        ("letter-SG-2027-1-0001.pdf", "letter-SG-2027-1-0001.pdf"),
    ],
)
def test_content_disposition_sends_utf8_and_an_ascii_fallback(name, fallback):
    assert rfc6266(content_disposition(name)) == ("attachment", fallback, name)
    assert ascii_name(name) == fallback


# --- through the web form, the API and the downloads, on both databases --------------------


@pytest.fixture
def scene(app, frozen, users, organization, manager):
    """A draft application of a two-NGO consortium to an open, not blind, call."""
    lead = users("lead@example.kz", locale="kk")
    partner = users("partner@example.kz")
    lead_org = organization(lead, name="Арал ҮЕҰ", bin=complete_bin("20054000777"))
    partner_org = organization(partner, name="Жас Дала", bin=complete_bin("21054000888"), region="aktobe")
    call = calls.create(manager, call_data(blind_review=False))
    calls.publish(manager, call)
    consortium = consortia.create(lead, name="Арал консорциумы", lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
    draft = applications.create(lead, call, consortium)
    return SimpleNamespace(lead=lead, partner=partner, lead_org=lead_org, partner_org=partner_org, call=call,
                           consortium=consortium, app=draft, manager=manager)  # fmt: skip


def upload_form(client, app_id: int, name: str, data: bytes = PDF):
    page = f"/applications/{app_id}/edit/attachments"
    return post_form(client, f"/applications/{app_id}/attachments",
                     {"kind": "charter", "file": (io.BytesIO(data), name)}, form_url=page,
                     content_type="multipart/form-data")  # fmt: skip


def attachments(app_id: int) -> list[Attachment]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(Attachment).filter_by(application_id=app_id).order_by(Attachment.id))
                .scalars())  # fmt: skip


def download_name(response) -> str:
    assert response.status_code == 200, response.status_code
    disposition, fallback, name = rfc6266(response.headers["Content-Disposition"])
    assert disposition == "attachment" and fallback == ascii_name(name)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return name


def test_names_uploaded_through_the_web_form_are_shown_and_sent_back(scene, client, app):
    login(client, "lead@example.kz")
    for name in (USTAV, ZHARGY):
        assert upload_form(client, scene.app.id, name).status_code == 302
    stored = attachments(scene.app.id)
    assert [a.filename for a in stored] == [USTAV, ZHARGY]
    for item in stored:  # the storage key is random, never the name
        assert re.fullmatch(r"attachments/[0-9a-f]{32}\.pdf", item.path)
        assert (Path(app.config["UPLOAD_DIR"]) / item.path).read_bytes() == PDF
    for lang in ("kk", "ru"):
        client.get(f"/language/{lang}")
        html = client.get(f"/applications/{scene.app.id}/edit/attachments").get_data(as_text=True)
        assert USTAV in html and ZHARGY in html, lang
    for item in stored:
        response = client.get(f"/applications/{scene.app.id}/attachments/{item.id}")
        assert download_name(response) == item.filename and response.data == PDF
        assert response.headers["Cache-Control"] == "private, no-store"


def test_names_uploaded_through_the_api_are_kept(scene, client):
    token = api_login(client, "lead@example.kz", PASSWORD).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for name in (USTAV, ZHARGY):
        response = client.post(f"/api/v1/applications/{scene.app.id}/attachments", headers=headers,
                               data={"kind": "charter", "file": (io.BytesIO(PDF), name)},
                               content_type="multipart/form-data")  # fmt: skip
        assert response.status_code == 201 and response.json["filename"] == name
    listed = client.get(f"/api/v1/applications/{scene.app.id}", headers=headers).json["attachments"]
    assert [a["filename"] for a in listed] == [USTAV, ZHARGY]
    login(client, "lead@example.kz")
    for item in attachments(scene.app.id):
        assert download_name(client.get(f"/applications/{scene.app.id}/attachments/{item.id}")) == item.filename


def test_paths_control_characters_and_a_false_extension_are_made_safe(scene, client, app):
    login(client, "lead@example.kz")
    given = ("../../etc/passwd.pdf", "Жарғы\x07\x1b\u202e (2026)\t.pdf", "сурет.pdf")
    assert upload_form(client, scene.app.id, given[0]).status_code == 302
    assert upload_form(client, scene.app.id, given[1]).status_code == 302
    assert upload_form(client, scene.app.id, given[2], PNG).status_code == 302  # PNG bytes named .pdf
    stored = attachments(scene.app.id)
    assert [a.filename for a in stored] == ["passwd.pdf", ZHARGY, "сурет.png"]
    assert stored[2].content_type == "image/png" and stored[2].path.endswith(".png")
    root = Path(app.config["UPLOAD_DIR"]).resolve()
    assert not (root.parent / "etc").exists()
    assert all((root / a.path).resolve().parent == root / "attachments" for a in stored)
    names = [download_name(client.get(f"/applications/{scene.app.id}/attachments/{a.id}")) for a in stored]
    assert names == ["passwd.pdf", ZHARGY, "сурет.png"]
    html = client.get(f"/applications/{scene.app.id}/edit/attachments").get_data(as_text=True)
    assert "\u202e" not in html and "\x07" not in html and "сурет.png" in html
    nul = upload_form(client, scene.app.id, "Устав\x00.pdf")  # refused at the door (nothing stores NUL)
    assert nul.status_code == 400 and len(attachments(scene.app.id)) == 3


def test_a_refused_file_is_refused_whatever_its_name(scene):
    with pytest.raises(UnsupportedMediaType):
        applications.add_attachment(scene.lead, scene.app, FileStorage(io.BytesIO(b"MZ\x90\x00"), filename=USTAV))


def test_evidence_name_is_shown_and_sent(client, users):
    users("owner@example.kz")
    login(client, "owner@example.kz")
    data = org_data(women_led="y") | {"evidence": (io.BytesIO(PDF), USTAV)}
    assert post_form(client, "/organizations/new", data, content_type="multipart/form-data").status_code == 302
    org = db.session.execute(sa.select(Organization)).scalar_one()
    assert org.evidence_filename == USTAV
    for lang in ("kk", "ru"):
        client.get(f"/language/{lang}")
        assert USTAV in client.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert download_name(client.get(f"/organizations/{org.id}/evidence")) == USTAV


def test_a_reviewer_downloads_a_cyrillic_name_and_the_generated_pdfs_are_named(scene, client, users, frozen):
    """The reviewer's download built its header by hand (a non-Latin-1 name could not be sent)."""
    from applications.conftest import complete
    from pypdf import PdfWriter

    from grants.reviews import services as reviews
    from grants.reviews.models import Assignment

    writer, page = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(page)  # a PDF the reviewer's stamp can open
    applications.add_attachment(scene.lead, scene.app, FileStorage(io.BytesIO(page.getvalue()), filename=ZHARGY),
                                "charter")  # fmt: skip
    world = SimpleNamespace(lead_org=scene.lead_org, partner_org=scene.partner_org)
    applications.save(scene.lead, scene.app, complete(world), version=scene.app.version)
    applications.submit(scene.lead, scene.app)
    login(client, "lead@example.kz")
    for lang in ("kk", "ru"):  # the submitted application lists its files
        client.get(f"/language/{lang}")
        assert ZHARGY in client.get(f"/applications/{scene.app.id}").get_data(as_text=True)
    assert download_name(client.get(f"/applications/{scene.app.id}/receipt.pdf")).startswith("receipt-")
    assert download_name(client.get(f"/applications/{scene.app.id}/application.pdf")).endswith(".pdf")
    for n in range(3):
        users(f"r{n}@example.kz", role="reviewer")
    frozen.to(scene.call.closes_at + timedelta(hours=1))
    reviews.set_eligibility(scene.manager, scene.app, eligible=True, reason="")
    reviews.auto_assign(scene.manager, scene.call)
    assignment = db.session.execute(sa.select(Assignment).order_by(Assignment.seat)).scalars().first()
    reviews.declare(assignment.reviewer, assignment, conflict=False)
    reviewer = client.application.test_client()
    login(reviewer, assignment.reviewer.email)
    [item] = attachments(scene.app.id)
    assert ZHARGY in reviewer.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    assert download_name(reviewer.get(f"/reviews/{assignment.id}/attachments/{item.id}")) == ZHARGY
    assert download_name(reviewer.get(f"/reviews/{assignment.id}/application.pdf")).startswith("application-")
