"""The certificate-verification QR code the gateway draws (services/common/qr.py) — DISC-2."""
import struct
import zlib

import pytest

from services.common.qr import qr_png


def _png_chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks.append((kind, body))
        pos += 12 + length
    return chunks


def test_disc2_qr_png_decodes():
    png = qr_png("https://zhifa.example.gov.cn/verify/32010020230001", box_size=4, border=4)
    chunks = _png_chunks(png)
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert width == height and depth == 8 and colour == 0
    modules = width // 4
    assert width % 4 == 0 and 21 + 8 <= modules <= 177 + 8 and (modules - 8 - 21) % 4 == 0  # QR versions 1..40
    raw = zlib.decompress(chunks[1][1])
    assert len(raw) == height * (width + 1)
    rows = [raw[r * (width + 1) + 1:(r + 1) * (width + 1)] for r in range(height)]
    px = lambda mx, my: rows[my * 4][mx * 4]  # noqa: E731 - module (x, y) → top-left pixel
    assert px(0, 0) == 255 and px(3, 3) == 255  # quiet zone is white
    assert all(px(4 + i, 4) == 0 for i in range(7))  # finder pattern top edge is black
    assert px(5, 5) == 255 and px(6, 6) == 0  # finder ring white, centre black
    with pytest.raises(ValueError):
        qr_png("")
