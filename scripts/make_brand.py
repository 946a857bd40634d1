"""Draw the brand images of the integration (icon and logo, light and dark) with Pillow.

Usage: python scripts/make_brand.py [output directory]
(default: custom_components/landis_gyr_optical/brand next to this script's repository).

The icon is an electricity meter face: a casing, a display with seven-segment digits, and a
round optical port sending an infrared beam. The logo puts the name to the right of the icon.
Everything is drawn at four times the final size and scaled down, which gives smooth edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import cos, radians, sin
from pathlib import Path
import sys

from PIL import Image, ImageDraw, ImageFont

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPOSITORY / "custom_components" / "landis_gyr_optical" / "brand"
NAME = ("Landis+Gyr", "Optical")
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
)
SUPERSAMPLE = 4
GRID = 512
"""The icon is designed on a 512-unit grid."""

type Colour = tuple[int, int, int, int]


def rgba(hex_colour: str, alpha: int = 255) -> Colour:
    """Turn ``#rrggbb`` into an RGBA tuple."""
    value = int(hex_colour.lstrip("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF, alpha


@dataclass(frozen=True)
class Palette:
    """The colours of one variant."""

    casing: Colour
    face: Colour
    display: Colour
    digits: Colour
    port_ring: Colour
    port_bezel: Colour
    port_window: Colour
    beam: Colour
    name: Colour
    accent: Colour


LIGHT = Palette(
    casing=rgba("#263746"),
    face=rgba("#eef2f5"),
    display=rgba("#1b2731"),
    digits=rgba("#7be3c4"),
    port_ring=rgba("#9aa8b4"),
    port_bezel=rgba("#263746"),
    port_window=rgba("#0d1317"),
    beam=rgba("#e53935"),
    name=rgba("#263746"),
    accent=rgba("#e53935"),
)
DARK = Palette(
    casing=rgba("#a9b8c4"),
    face=rgba("#25323d"),
    display=rgba("#0c1217"),
    digits=rgba("#7be3c4"),
    port_ring=rgba("#7d8d9a"),
    port_bezel=rgba("#a9b8c4"),
    port_window=rgba("#06090b"),
    beam=rgba("#ff5a52"),
    name=rgba("#eef2f5"),
    accent=rgba("#ff5a52"),
)

# Seven-segment digit on a cell 60 wide and 110 high (grid units), segments a..g.
_SEGMENT_WIDTH = 12
_DIGIT_SEGMENTS = {
    "0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg",
    "5": "acdfg", "6": "acdefg", "7": "abc", "8": "abcdefg", "9": "abcdfg",
}  # fmt: skip


def _segment(name: str, x: float, y: float, width: float, height: float) -> list[tuple[float, float]]:
    """Return the hexagon of one segment of a digit whose cell starts at (x, y)."""
    t = _SEGMENT_WIDTH
    half = t / 2
    gap = 2.5
    middle = y + height / 2

    def horizontal(cy: float) -> list[tuple[float, float]]:
        left, right = x + half + gap, x + width - half - gap
        return [(left, cy), (left + half, cy - half), (right - half, cy - half), (right, cy),
                (right - half, cy + half), (left + half, cy + half)]  # fmt: skip

    def vertical(cx: float, top: float, bottom: float) -> list[tuple[float, float]]:
        top, bottom = top + gap, bottom - gap
        return [(cx, top), (cx + half, top + half), (cx + half, bottom - half), (cx, bottom),
                (cx - half, bottom - half), (cx - half, top + half)]  # fmt: skip

    shapes = {
        "a": lambda: horizontal(y + half),
        "g": lambda: horizontal(middle),
        "d": lambda: horizontal(y + height - half),
        "f": lambda: vertical(x + half, y + half, middle),
        "b": lambda: vertical(x + width - half, y + half, middle),
        "e": lambda: vertical(x + half, middle, y + height - half),
        "c": lambda: vertical(x + width - half, middle, y + height - half),
    }
    return shapes[name]()


class Canvas:
    """A supersampled RGBA drawing on the 512-unit grid."""

    def __init__(self, width: float, height: float, scale: float) -> None:
        """Create a transparent canvas of ``width`` x ``height`` grid units at ``scale`` pixels per unit."""
        self.scale = scale * SUPERSAMPLE
        self.image = Image.new("RGBA", (round(width * self.scale), round(height * self.scale)), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def _px(self, *values: float) -> list[float]:
        return [value * self.scale for value in values]

    def rounded(self, box: tuple[float, float, float, float], radius: float, fill: Colour) -> None:
        """Fill a rounded rectangle."""
        self.draw.rounded_rectangle(self._px(*box), radius=radius * self.scale, fill=fill)

    def circle(self, cx: float, cy: float, radius: float, fill: Colour) -> None:
        """Fill a circle."""
        self.draw.ellipse(self._px(cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)

    def polygon(self, points: list[tuple[float, float]], fill: Colour) -> None:
        """Fill a polygon."""
        self.draw.polygon([(px * self.scale, py * self.scale) for px, py in points], fill=fill)

    def arc(
        self, cx: float, cy: float, radius: float, start: float, end: float, width: float, fill: Colour
    ) -> None:
        """Stroke an arc with round caps (angles in degrees, clockwise from three o'clock)."""
        box = self._px(cx - radius, cy - radius, cx + radius, cy + radius)
        self.draw.arc(box, start, end, fill=fill, width=round(width * self.scale))
        # Pillow draws the stroke inwards from the box: the caps sit on its centre line.
        centre = radius - width / 2
        for angle in (start, end):
            self.circle(cx + centre * cos(radians(angle)), cy + centre * sin(radians(angle)), width / 2, fill)

    def finish(self) -> Image.Image:
        """Scale down to the final size."""
        size = (self.image.width // SUPERSAMPLE, self.image.height // SUPERSAMPLE)
        return self.image.resize(size, Image.Resampling.LANCZOS)


def draw_icon(canvas: Canvas, palette: Palette) -> None:
    """Draw the meter on the 512-unit grid."""
    canvas.rounded((0, 0, GRID, GRID), 108, palette.casing)
    canvas.rounded((34, 34, GRID - 34, GRID - 34), 80, palette.face)

    # Display with a reading: five digits, a decimal point before the last one.
    canvas.rounded((74, 82, 438, 214), 22, palette.display)
    digits, cell_width, cell_height, pitch = "02486", 50, 92, 66
    x0, y0 = 100, 102
    for index, digit in enumerate(digits):
        x = x0 + index * pitch + (10 if index == len(digits) - 1 else 0)
        for segment in _DIGIT_SEGMENTS[digit]:
            canvas.polygon(_segment(segment, x, y0, cell_width, cell_height), palette.digits)
    canvas.circle(x0 + 4 * pitch - 3, y0 + cell_height - 5, 6, palette.digits)

    # Optical port (IEC 62056-21): a steel ring for the head's magnet around a dark recess
    # holding the receiver and the infrared emitter side by side.
    cx, cy = 166, 350
    canvas.circle(cx, cy, 86, palette.port_ring)
    canvas.circle(cx, cy, 66, palette.port_bezel)
    canvas.circle(cx, cy, 52, palette.port_window)
    for offset, colour in ((-23, palette.port_ring), (23, palette.beam)):
        canvas.circle(cx + offset, cy, 15, colour)
        canvas.circle(cx + offset - 5, cy - 5, 4.5, rgba("#ffffff", 170))

    # Infrared beam leaving the port.
    for radius, alpha in ((124, 255), (166, 205), (208, 155)):
        canvas.arc(cx, cy, radius, -33, 33, 22, (*palette.beam[:3], alpha))


def icon(size: int, palette: Palette) -> Image.Image:
    """Draw the square icon at ``size`` pixels."""
    canvas = Canvas(GRID, GRID, size / GRID)
    draw_icon(canvas, palette)
    return canvas.finish()


def find_font() -> Path | None:
    """Return a bold DejaVu Sans, if one is installed."""
    return next((Path(path) for path in FONT_CANDIDATES if Path(path).is_file()), None)


def logo(height: int, palette: Palette, font_path: Path | None) -> Image.Image:
    """Draw the icon with the name to its right, ``height`` pixels high (the icon alone without a font)."""
    mark = icon(height, palette)
    if font_path is None:
        return mark
    font = ImageFont.truetype(str(font_path), round(height * 0.34))
    first, second = NAME
    space = font.getlength(" ")
    first_width, second_width = font.getlength(first), font.getlength(second)
    gap = round(height * 0.16)
    text_width = round(first_width + space + second_width)
    image = Image.new("RGBA", (height + gap + text_width + 2, height), (0, 0, 0, 0))
    image.alpha_composite(mark)
    draw = ImageDraw.Draw(image)
    x = height + gap
    y = height / 2
    draw.text((x, y), first, font=font, fill=palette.name, anchor="lm")
    draw.text((x + first_width + space, y), second, font=font, fill=palette.accent, anchor="lm")
    return trim(image)


def trim(image: Image.Image) -> Image.Image:
    """Cut away fully transparent borders."""
    bounds = image.getchannel("A").getbbox()
    return image.crop(bounds) if bounds else image


def save(image: Image.Image, path: Path) -> None:
    """Write a small, optimised PNG and say what was written.

    A flat drawing needs far fewer than 256 colours, edges included: a palette image with
    transparency keeps each file a fraction of the size of a full RGBA one.
    """
    image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"{path.name}: {image.width}x{image.height}, {path.stat().st_size} bytes")


def main() -> None:
    """Write every brand image."""
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    output.mkdir(parents=True, exist_ok=True)
    font_path = find_font()
    if font_path is None:
        print("no DejaVu Sans Bold found: the logos show the icon only")
    for prefix, palette in (("", LIGHT), ("dark_", DARK)):
        save(icon(256, palette), output / f"{prefix}icon.png")
        save(icon(512, palette), output / f"{prefix}icon@2x.png")
        save(logo(128, palette, font_path), output / f"{prefix}logo.png")
        save(logo(256, palette, font_path), output / f"{prefix}logo@2x.png")


if __name__ == "__main__":
    main()
