"""The printable recognition certificate, read back the way a person (pdftotext) and a phone (the QR
code, decoded from a rendered image) read it. Needs poppler-utils: scripts/ensure-services.sh pdf."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from portal import certificate_pdf

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
URL = "http://127.0.0.1:8080/chung-nhan?code=HN-7QK2M9XD4T"


def certificate(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": "HN-KL-C001-2026-000017",
        "verification_code": "HN-7QK2M9XD4T",
        "verify_url": URL,
        "title": "Cải tiến dây chuyền đóng gói",
        "level": "grassroots",
        "issued_by": "HN-KL-C001",
        "issued_by_name": "Công đoàn cơ sở Bệnh viện Đa khoa Demo số 1",
        "issuer_parent_name": "Công đoàn phường Kim Liên",
        "unit_name": "Công đoàn cơ sở Bệnh viện Đa khoa Demo số 1",
        "authors": [
            {"name": "Nguyễn Thị Hồng Nhung", "share_percent": 60.0, "member_id": "dv-001"},
            {"name": "Trần Văn Đức", "share_percent": 40.0, "member_id": None},
        ],
        # 20:30 UTC is the next morning in Hà Nội: the certificate prints the local date.
        "issued_at": "2026-03-04T20:30:00Z",
    }
    data.update(changes)
    return data


def poppler(tool: str, *args: str) -> bytes:
    assert shutil.which(tool), f"{tool} is missing: bash scripts/ensure-services.sh pdf installs poppler-utils"
    return subprocess.run([tool, *args], check=True, capture_output=True, timeout=60).stdout


def text_of(pdf: Path) -> str:
    return poppler("pdftotext", "-enc", "UTF-8", str(pdf), "-").decode("utf-8")


def pages_of(pdf: Path) -> int:
    info = poppler("pdfinfo", str(pdf)).decode()
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def png_of(pdf: Path, out: Path, dpi: int = 150) -> Path:
    poppler("pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(pdf), str(out.with_suffix("")))
    return out


def qr_texts(png: Path) -> list[str]:
    with Image.open(png) as image:
        return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_the_certificate_reads_back_in_vietnamese_with_a_qr_code_to_the_check_page(tmp_path: Path) -> None:
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(certificate_pdf.render(certificate()))
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert pages_of(pdf) == 1

    text = text_of(pdf)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "CÔNG ĐOÀN PHƯỜNG KIM LIÊN",
        "CÔNG ĐOÀN CƠ SỞ BỆNH VIỆN ĐA KHOA DEMO SỐ 1",
        "GIẤY CHỨNG NHẬN SÁNG KIẾN",
        "Cải tiến dây chuyền đóng gói",
        "cấp công đoàn cơ sở",
        "Nguyễn Thị Hồng Nhung",
        "Trần Văn Đức",
        "60%",
        "40%",
        "Số: HN-KL-C001-2026-000017",
        "HN-7QK2M9XD4T",
        "Ngày 05 tháng 3 năm 2026",
        "TM. BAN CHẤP HÀNH",
        "CHỦ TỊCH",
    ):
        assert expected in text, expected

    # Every glyph comes from the embedded Noto Serif files (the template's "Certificate Serif"), none
    # from a fallback font that may lack Vietnamese letters.
    fonts = poppler("pdffonts", str(pdf)).decode().splitlines()[2:]
    assert fonts and all("+Certificate-Serif" in line and " yes " in line for line in fonts), fonts

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    png = png_of(pdf, SCREENSHOTS / "certificate.png")
    with Image.open(png) as image:
        assert image.width > image.height  # A4 landscape
    assert qr_texts(png) == [URL]


def test_a_long_title_and_twenty_co_authors_stay_on_one_page(tmp_path: Path) -> None:
    title = ("Giải pháp số hóa quy trình tiếp nhận, xử lý và lưu trữ hồ sơ đoàn viên " * 7)[:500]
    authors = [{"name": f"Lê Thị Phương Thảo {i:02d}", "share_percent": 5} for i in range(20)]
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(certificate_pdf.render(certificate(title=title, authors=authors, level="national")))
    assert pages_of(pdf) == 1
    text = text_of(pdf)
    assert "Lê Thị Phương Thảo 00" in text and "Lê Thị Phương Thảo 19" in text
    assert "TM. ĐOÀN CHỦ TỊCH" in text and "cấp Tổng Liên đoàn Lao động Việt Nam" in text
    assert qr_texts(png_of(pdf, tmp_path / "long.png")) == [URL]


def test_text_from_people_is_printed_as_text_never_as_markup(tmp_path: Path) -> None:
    pdf = tmp_path / "markup.pdf"
    title = 'Băng tải <img src="file:///etc/passwd"> & <b>đậm</b>'
    pdf.write_bytes(certificate_pdf.render(certificate(title=title)))
    assert title in " ".join(text_of(pdf).split())


def test_the_template_may_load_only_the_fonts_and_inline_data() -> None:
    _, fetcher = certificate_pdf._weasyprint()
    for url in ("file:///etc/passwd", "http://127.0.0.1:8080/", "https://example.org/logo.png"):
        with pytest.raises(ValueError):
            fetcher().fetch(url)
    font = certificate_pdf.font_faces()[0]["url"]
    assert fetcher().fetch(font) is not None


@pytest.mark.parametrize(
    ("moment", "written"),
    [
        ("2026-01-09T03:00:00+00:00", "ngày 09 tháng 01 năm 2026"),
        ("2026-02-28T18:00:00Z", "ngày 01 tháng 3 năm 2026"),  # already 1 March in Hà Nội
        (datetime(2026, 12, 31, 9, 0), "ngày 31 tháng 12 năm 2026"),
    ],
)
def test_dates_are_written_the_way_documents_write_them(moment: Any, written: str) -> None:
    assert certificate_pdf.vietnamese_date(moment) == written


def test_shares_use_the_decimal_comma() -> None:
    assert [certificate_pdf.share(v) for v in (60.0, 33.5, "25", None)] == ["60", "33,5", "25", ""]
