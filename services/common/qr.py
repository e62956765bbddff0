"""QR codes as PNG (亮证扫码核验, DISC-2): the gateway renders the certificate-verification link an officer
shows. Shared here, not in disclosure, because the edge draws it (issue 21: the gateway knows services only
by their contracts and what lives in common).
"""
from __future__ import annotations

import struct
import zlib

import qrcode
import qrcode.constants

__all__ = ["qr_png"]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def qr_png(url: str, box_size: int = 8, border: int = 4) -> bytes:
    """PNG bytes of a QR code for a certificate-verification URL (亮证扫码核验) — DISC-2.

    The QR matrix comes from the ``qrcode`` library (error correction M); the PNG (8-bit
    greyscale) is written with the standard library, so no imaging library is needed.
    """
    if not url:
        raise ValueError("url must not be empty")
    if box_size < 1 or border < 0:
        raise ValueError("box_size must be >= 1 and border >= 0")
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(url)
    qr.make(fit=True)
    matrix = qr.get_matrix()  # includes the quiet zone (border)
    size = len(matrix) * box_size
    raw = bytearray()
    for row in matrix:
        line = bytes(0 if dark else 255 for dark in row for _ in range(box_size))
        for _ in range(box_size):
            raw.append(0)  # filter type: none
            raw.extend(line)
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + _png_chunk(b"IEND", b""))
