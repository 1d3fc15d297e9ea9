"""Charts as inline SVG, drawn on the server (图表): no script, nothing to download, and they
print. Each takes fen and gives markup with a text alternative (``<title>``, ``role="img"``)."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from policies.money import format_fen


def _svg(width: int, height: int, label: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>{body}</svg>')


def meter(value: int, limit: int | None, label: str) -> Markup:
    """One bar: ``value`` against ``limit`` (fund paid against the cap)."""
    full = max(value, limit or 0, 1)
    used = round(600 * value / full)
    cap = "" if limit is None else (
        f'<line x1="{round(600 * limit / full)}" x2="{round(600 * limit / full)}" y1="0" '
        f'y2="36" class="limit"/>')
    return _svg(600, 36, label, f'<rect width="600" height="28" y="4" class="track"/>'
                                f'<rect width="{used}" height="28" y="4" class="bar"/>{cap}')


def steps(points: list[tuple[str, int]], limit: int | None, label: str) -> Markup:
    """A cumulative line, one step per point (date, cumulative fen), the limit dashed."""
    if not points:
        return Markup("")
    width, height, left, bottom = 640, 220, 70, 30
    top = max([v for _, v in points] + [limit or 0, 1])
    span = max(len(points) - 1, 1)

    def xy(i: int, v: int) -> tuple[int, int]:
        return (left + round((width - left - 10) * i / span),
                height - bottom - round((height - bottom - 10) * v / top))

    line = " ".join(f"{x},{y}" for x, y in (xy(i, v) for i, (_, v) in enumerate(points)))
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="3" class="dot"><title>{escape(d)}: '
                   f'{format_fen(v)}</title></circle>'
                   for (d, v), (x, y) in zip(points, (xy(i, v) for i, (_, v) in enumerate(points))))
    axis = (f'<line x1="{left}" x2="{width - 10}" y1="{height - bottom}" y2="{height - bottom}" '
            f'class="axis"/><text x="{left - 6}" y="{height - bottom}" class="tick" '
            f'text-anchor="end">0</text><text x="{left - 6}" y="14" class="tick" '
            f'text-anchor="end">{format_fen(top)}</text>'
            f'<text x="{left}" y="{height - 8}" class="tick">{escape(points[0][0])}</text>'
            f'<text x="{width - 10}" y="{height - 8}" class="tick" text-anchor="end">'
            f'{escape(points[-1][0])}</text>')
    cap = ""
    if limit:
        y = xy(0, limit)[1]
        cap = f'<line x1="{left}" x2="{width - 10}" y1="{y}" y2="{y}" class="limit"/>'
    return _svg(width, height, label,
                f'{axis}{cap}<polyline points="{line}" class="line"/>{dots}')


def columns(bars: list[tuple[str, int]], label: str) -> Markup:
    """Vertical bars, one per (label, fen)."""
    width, height, bottom = 640, 220, 30
    top = max([v for _, v in bars] + [1])
    slot = (width - 20) / max(len(bars), 1)
    body = "".join(
        f'<g><rect x="{10 + slot * i + 4:.0f}" width="{slot - 8:.0f}" '
        f'y="{height - bottom - round((height - bottom - 20) * max(v, 0) / top)}" '
        f'height="{round((height - bottom - 20) * max(v, 0) / top)}" class="bar">'
        f'<title>{escape(name)}: {format_fen(v)}</title></rect>'
        f'<text x="{10 + slot * (i + 0.5):.0f}" y="{height - 10}" class="tick" '
        f'text-anchor="middle">{escape(name)}</text></g>'
        for i, (name, v) in enumerate(bars))
    return _svg(width, height, label, f'<text x="10" y="12" class="tick">{format_fen(top)}'
                                      f'</text>{body}')


def span(offset: int, value: int, whole: int) -> Markup:
    """A floating bar of a waterfall: ``value`` starting at ``offset``, of ``whole``."""
    whole = max(whole, 1)
    x, w = round(300 * offset / whole), max(round(300 * abs(value) / whole), 1 if value else 0)
    return Markup(f'<svg class="span" viewBox="0 0 300 16" width="300" height="16" '
                  f'aria-hidden="true"><rect width="300" height="16" class="track"/>'
                  f'<rect x="{x}" width="{w}" height="16" class="bar"/></svg>')
