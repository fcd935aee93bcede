"""QR codes as inline SVG, drawn on the server (TOTP set-up needs no outside service)."""

from __future__ import annotations

from reportlab.graphics.barcode import qrencoder

QUIET_ZONE = 4  # modules of white border the QR standard asks for


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR code's modules (True is dark), error correction level M."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(data)
    code.make()
    size = code.getModuleCount()
    return [[bool(code.isDark(row, col)) for col in range(size)] for row in range(size)]


def qr_svg(data: str, title: str) -> str:
    """An SVG image of the QR code, one path, with an accessible title."""
    matrix = qr_matrix(data)
    size = len(matrix) + 2 * QUIET_ZONE
    parts = [
        f"M{col + QUIET_ZONE} {row + QUIET_ZONE}h1v1h-1z"
        for row, line in enumerate(matrix)
        for col, dark in enumerate(line)
        if dark
    ]
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" '
        f'aria-labelledby="qr-title" shape-rendering="crispEdges">'
        f'<title id="qr-title">{safe_title}</title>'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>'
    )
