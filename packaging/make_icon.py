"""Draw the app icon: a label map (flat class regions with dark boundaries, one round object) in a rounded tile.

Writes ``zerolabel.svg`` next to this file and ``resources/icons/zerolabel.png`` (256 px, drawn 4x larger and
downsampled; the app's window icon, installed with the package) from the same shapes, so the two never drift
apart. Run: ``python packaging/make_icon.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
TILE = (12, 12, 244, 244)  # the rounded tile, corner radius RADIUS
RADIUS = 52
INK = "#1d2330"  # background and region boundaries
LINE = 7
REGIONS = [  # (fill, polygon): a sky, a field and a road meeting at one point, like a semantic label map
    ("#3aa7c4", [(0, 0), (256, 0), (256, 100), (122, 150), (0, 112)]),
    ("#5cb85f", [(0, 112), (122, 150), (150, 256), (0, 256)]),
    ("#f0a43c", [(122, 150), (256, 100), (256, 256), (150, 256)]),
]
OBJECT = ("#e85d4a", (86, 66), 30)  # (fill, centre, radius): the one object instance
HERE = Path(__file__).resolve().parent
PNG = HERE.parent / "resources" / "icons" / "zerolabel.png"


def svg() -> str:
    x0, y0, x1, y1 = TILE
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">',
        "  <title>zerolabel</title>",
        f'  <defs><clipPath id="tile"><rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" '
        f'rx="{RADIUS}"/></clipPath></defs>',
        f'  <g clip-path="url(#tile)" stroke="{INK}" stroke-width="{LINE}" stroke-linejoin="round">',
    ]
    for fill, points in REGIONS:
        pts = " ".join(f"{x},{y}" for x, y in points)
        parts.append(f'    <polygon points="{pts}" fill="{fill}"/>')
    fill, (cx, cy), r = OBJECT
    parts.append(f'    <circle cx="{cx}" cy="{cy}" r="{r}" fill="{fill}"/>')
    parts.append("  </g>")
    parts.append(f'  <rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="{RADIUS}" fill="none" '
                 f'stroke="{INK}" stroke-width="{LINE + 3}"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(size: int = SIZE, scale: int = 4) -> Image.Image:
    s = size * scale / SIZE
    big = size * scale
    art = Image.new("RGBA", (big, big), INK)
    draw = ImageDraw.Draw(art)
    width = round(LINE * s)
    for fill, points in REGIONS:
        pts = [(x * s, y * s) for x, y in points]
        draw.polygon(pts, fill=fill)
        draw.line([*pts, pts[0]], fill=INK, width=width, joint="curve")
    fill, (cx, cy), r = OBJECT
    draw.ellipse([(cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s], fill=fill, outline=INK,
                 width=round(width / 2))
    x0, y0, x1, y1 = (v * s for v in TILE)
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle([x0, y0, x1, y1], RADIUS * s, fill=255)
    out = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    out.paste(art, (0, 0), mask)
    ImageDraw.Draw(out).rounded_rectangle([x0, y0, x1, y1], RADIUS * s, outline=INK, width=round((LINE + 3) * s / 2))
    return out.resize((size, size), Image.Resampling.LANCZOS)


if __name__ == "__main__":
    (HERE / "zerolabel.svg").write_text(svg(), encoding="utf-8")
    png().save(PNG, optimize=True)
    print(f"wrote {HERE / 'zerolabel.svg'} and {PNG}")
