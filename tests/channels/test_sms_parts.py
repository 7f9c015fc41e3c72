"""SMS part counting (GSM-7 and UCS-2) and fitting alert texts into two parts."""

import pytest

from grants.channels.sms import count_parts, fit, is_mobile, mask, normalize_phone


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),  # concatenated: 153 septets per part
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # an extension character takes two septets
        ("{" * 81, "GSM-7", 162, 2),
        ("Deadline 31.03.2027, 18:00 (UTC+5) @ Grants", "GSM-7", 43, 1),
        ("я" * 70, "UCS-2", 70, 1),
        ("я" * 71, "UCS-2", 71, 2),  # 67 per part once split
        ("я" * 134, "UCS-2", 134, 2),
        ("я" * 135, "UCS-2", 135, 3),
        ("a" * 69 + "ә", "UCS-2", 70, 1),  # one Kazakh letter makes the whole text UCS-2
        ("Өтінім қабылданды: ғ қ ң ө ұ ү һ і", "UCS-2", 34, 1),
        ("🌱" * 35, "UCS-2", 70, 1),  # outside the BMP: two UCS-2 units each
        ("🌱" * 36, "UCS-2", 72, 2),
    ],
)
def test_parts_are_counted_as_the_network_counts_them(text, encoding, units, parts):
    counted = count_parts(text)
    assert (counted.encoding, counted.units, counted.parts) == (encoding, units, parts)


def test_every_kazakh_letter_needs_ucs2_and_plain_latin_does_not():
    for letter in "әғқңөұүһіӘҒҚҢӨҰҮҺІ":
        assert count_parts(f"Grant {letter}").encoding == "UCS-2", letter
    assert count_parts("Grants: your code is 123456.").encoding == "GSM-7"


def test_a_long_text_is_cut_on_a_word_to_two_parts():
    text = "Өтінімдер байқауы " * 20
    short = fit(text)
    assert count_parts(short).parts == 2 and short.endswith("…") and len(short) <= 134
    assert fit("Қысқа мәтін") == "Қысқа мәтін"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("+7 701 234 56 78", "+77012345678"), ("8 (701) 234-56-78", "+77012345678"), ("87012345678", "+77012345678"),
     ("7012345678", "+77012345678"), ("+7 495 123 45 67", None), ("+1 202 555 0100", None), ("12345", None),
     ("+7 701 234 56 78 ext", None)],
)  # fmt: skip
def test_kazakhstan_mobile_numbers_are_written_in_e164(raw, e164):
    assert normalize_phone(raw) == e164


def test_a_number_is_shown_masked():
    assert mask("+77012345678") == "+7 701 *** ** 78"


@pytest.mark.parametrize(
    ("raw", "mobile"),
    [("+7 700 123 45 67", True), ("+7 708 123 45 67", True), ("+7 747 123 45 67", True), ("+7 751 123 45 67", True),
     ("+7 764 123 45 67", True), ("+7 771 123 45 67", True), ("+7 778 123 45 67", True), ("+7 709 123 45 67", False),
     ("+7 7172 12 34 56", False), ("+7 727 123 45 67", False), ("+7 765 123 45 67", False), ("+7 779 123 45 67", False)],
)  # fmt: skip
def test_only_kazakhstan_mobile_codes_take_sms(raw, mobile):
    assert is_mobile(normalize_phone(raw)) is mobile
