"""Small inline SVG charts rendered on the server: no script, no external library, labels escaped."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape

ROW = 26
LABEL_WIDTH = 150
CHAR_WIDTH = 7  # a generous average glyph width at the labels' 12 px
BAR_WIDTH = 260
PALETTE = ("#3b82f6", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#64748b")


def bar_chart(data: dict[str, float] | None, *, label: str = "", labels: dict[str, str] | None = None,
              value_text: Callable[[float], str] = str) -> Markup:
    """Horizontal bars, one per key; `labels` translates keys (statuses, channels) for display and
    `value_text` writes a value (the reader's number notation). The label column is as wide as the
    longest label (a long Russian one is not cut at the left edge); the SVG scales down to its box."""
    if not data:
        return Markup("")
    peak = max(data.values()) or 1
    height = ROW * len(data) + 8
    names = [(labels or {}).get(key, key) for key in data]
    label_width = max(LABEL_WIDTH, max(len(str(name)) for name in names) * CHAR_WIDTH + 12)
    width = label_width + BAR_WIDTH + 60
    parts = [f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for index, value in enumerate(data.values()):
        y = 4 + index * ROW
        length = max(2, round(BAR_WIDTH * value / peak))
        colour = PALETTE[index % len(PALETTE)]
        name = names[index]
        shown = value_text(value)
        parts.append(f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" class="chart-label">'
                     f"{escape(name)}</text>")
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{length}" height="{ROW - 8}" rx="3" '
                     f'fill="{colour}"><title>{escape(name)}: {escape(shown)}</title></rect>')
        parts.append(f'<text x="{label_width + length + 6}" y="{y + 16}" class="chart-value">{escape(shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value above is escaped


def ratio_ring(ratio: float | None, *, label: str = "") -> Markup:
    """A ring showing a share (SLA attainment, CSAT)."""
    if ratio is None:
        return Markup("")
    radius, circumference = 36, 2 * 3.14159 * 36
    filled = round(circumference * max(0.0, min(1.0, ratio)), 1)
    return Markup(  # noqa: S704 - numbers and escaped label only
        f'<svg class="ring" role="img" aria-label="{escape(label)}" viewBox="0 0 100 100" width="100" height="100" '
        f'xmlns="http://www.w3.org/2000/svg"><circle cx="50" cy="50" r="{radius}" fill="none" stroke="#e5e7eb" '
        f'stroke-width="12"/><circle cx="50" cy="50" r="{radius}" fill="none" stroke="#10b981" stroke-width="12" '
        f'stroke-dasharray="{filled} {round(circumference, 1)}" transform="rotate(-90 50 50)"/>'
        f'<text x="50" y="56" text-anchor="middle" class="ring-value">{round(ratio * 100)}%</text></svg>'
    )
