"""Inline SVG charts rendered on the server: no JavaScript, deterministic bytes.

Colours come from CSS classes (style.css), so charts follow the light/dark scheme and
print. Every chart is ``role="img"`` with a <title>; the data table next to it carries the
numbers for assistive technology. Labels from posts are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_POINTS = 1500  # timeline buckets drawn; more are merged so the page stays small


def _n(x: float) -> str:
    """Compact, stable number formatting for coordinates."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def fmt_int(n: int | float | None) -> str:
    if n is None:
        return "–"
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.1f}"
    return f"{int(n):,}"


def _clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _svg_open(chart_id: str, width: int, height: int, title: str, cls: str) -> Markup:
    return Markup(
        '<svg class="chart {cls}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-labelledby="{id}-t" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-t">{title}</title>'
    ).format(cls=cls, w=width, h=height, id=chart_id, title=title)


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    chart_id: str,
    title: str,
    width: int = 560,
    label_chars: int = 30,
    value_fmt: str = "int",
) -> Markup:
    """Horizontal bars, one per row (label, value), largest scale = first max."""
    row_h, pad_top = 25, 4
    label_w, value_w = 212, 64
    bar_x = label_w + 8
    bar_max = width - bar_x - value_w
    height = pad_top * 2 + row_h * max(len(rows), 1)
    top = max((v for _, v in rows), default=0) or 1
    parts = [_svg_open(chart_id, width, height, title, "bars")]
    for i, (label, value) in enumerate(rows):
        y = pad_top + i * row_h
        w = max(bar_max * value / top, 1.5 if value else 0)
        shown = f"{value:,.1f}" if value_fmt == "ratio" else fmt_int(value)
        parts.append(
            Markup(
                '<g><title>{full}: {shown}</title>'
                '<text class="label" x="{lx}" y="{ty}" text-anchor="end">{label}</text>'
                '<rect class="bar" x="{bx}" y="{ry}" width="{w}" height="{h}" rx="2"></rect>'
                '<text class="value" x="{vx}" y="{ty}">{shown}</text></g>'
            ).format(
                full=_clip(label, 200),
                shown=shown,
                lx=label_w,
                ty=_n(y + row_h * 0.68),
                label=_clip(label, label_chars),
                bx=bar_x,
                ry=_n(y + 3),
                w=_n(w),
                h=row_h - 6,
                vx=_n(bar_x + w + 6),
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _parse(t: str) -> datetime | None:
    try:
        return datetime(int(t[0:4]), int(t[5:7]), int(t[8:10]), int(t[11:13] or 0),
                        int(t[14:16] or 0))
    except (ValueError, IndexError):
        return None


# tick spacings per bucket, in that bucket's unit; the first that gives <= 8 ticks wins
_STEPS = {
    "minute": (1, 2, 5, 10, 15, 30, 60, 120, 180, 360),
    "hour": (1, 2, 3, 6, 12, 24, 48, 72, 168),
    "day": (1, 2, 7, 14, 28, 61, 91, 182, 365),
    "month": (1, 2, 3, 6, 12, 24, 60),
}


def _aligned(t: datetime, bucket: str, step: int) -> bool:
    if bucket == "minute":
        return (t.hour * 60 + t.minute) % step == 0 if step < 1440 else t.hour == t.minute == 0
    if bucket == "hour":
        if step < 24:
            return t.minute == 0 and t.hour % step == 0
        return t.hour == 0 and t.toordinal() % (step // 24) == 0
    if bucket == "day":
        if step <= 14:
            return t.toordinal() % step == 0 if step != 7 else t.weekday() == 0
        return t.day == 1 and (t.month - 1) % max(step // 30, 1) == 0
    return (t.year * 12 + t.month - 1) % step == 0


def time_ticks(times: Sequence[str], bucket: str, most: int = 8) -> list[tuple[int, str]]:
    """(index, label) of round-numbered ticks: midnights, whole hours, Mondays, months."""
    parsed = [_parse(t) for t in times]
    if not parsed or any(p is None for p in parsed):
        return [(0, times[0][:10])] if times else []
    dts = [p for p in parsed if p is not None]
    ticks: list[int] = []
    for step in _STEPS.get(bucket, _STEPS["day"]):
        ticks = [i for i, t in enumerate(dts) if _aligned(t, bucket, step)]
        if len(ticks) <= most:
            break
    if not ticks or len(ticks) > most:  # odd data (merged or repeated times): spread evenly
        n = len(dts)
        ticks = sorted({round(k * (n - 1) / 5) for k in range(6)})
    out, prev = [], None
    for i in ticks:
        t = dts[i]
        if bucket == "month":
            label = f"{MONTHS[t.month - 1]} {t.year}"
        elif bucket == "day" or (t.hour == t.minute == 0 and bucket == "hour"):
            label = f"{t.day} {MONTHS[t.month - 1]}"
            if prev is None or prev.year != t.year:
                label += f" {t.year}"
        elif prev is not None and prev.date() == t.date():
            label = f"{t:%H:%M}"
        else:
            label = f"{t.day} {MONTHS[t.month - 1]} {t:%H:%M}"
        out.append((i, label))
        prev = t
    return out


def merge_points(points: Sequence[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    """Sum consecutive buckets so that at most ``limit`` remain (first time of each group)."""
    if len(points) <= limit:
        return list(points)
    step = -(-len(points) // limit)
    return [
        (points[i][0], sum(c for _, c in points[i : i + step]))
        for i in range(0, len(points), step)
    ]


def timeline_chart(
    points: Sequence[tuple[str, int]],
    *,
    bucket: str,
    chart_id: str,
    title: str,
    width: int = 960,
    height: int = 220,
) -> Markup:
    """Posts per bucket over time: bars for few buckets, an area for many."""
    points = merge_points(points, MAX_POINTS)
    left, right, top_pad, bottom = 56, 12, 14, 30
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    base = top_pad + plot_h
    peak = max((c for _, c in points), default=0)
    scale = plot_h / (peak or 1)
    n = len(points)
    parts = [_svg_open(chart_id, width, height, title, "timeline")]
    # grid and y labels: 0, half, peak
    for frac in (0, 0.5, 1):
        y = base - plot_h * frac
        val = peak * frac
        label = fmt_int(round(val)) if frac != 0.5 or peak >= 2 else ""
        parts.append(
            Markup(
                '<line class="grid" x1="{x1}" x2="{x2}" y1="{y}" y2="{y}"></line>'
                '<text class="axis" x="{tx}" y="{ty}" text-anchor="end">{label}</text>'
            ).format(x1=left, x2=width - right, y=_n(y), tx=left - 6, ty=_n(y + 4), label=label)
        )
    if n:
        slot = plot_w / n
        if n <= 150:
            gap = min(2.0, slot * 0.2)
            for i, (_, c) in enumerate(points):
                if not c:
                    continue
                h = c * scale
                parts.append(
                    Markup('<rect class="bar" x="{x}" y="{y}" width="{w}" height="{h}"></rect>')
                    .format(x=_n(left + i * slot + gap / 2), y=_n(base - h),
                            w=_n(max(slot - gap, 0.8)), h=_n(h))
                )
        else:
            coords = " ".join(
                f"{_n(left + (i + 0.5) * slot)},{_n(base - c * scale)}"
                for i, (_, c) in enumerate(points)
            )
            first_x, last_x = _n(left + 0.5 * slot), _n(left + (n - 0.5) * slot)
            parts.append(
                Markup('<path class="area" d="M{fx},{b} L{c} L{lx},{b} Z"></path>'
                       '<polyline class="line" points="{c}"></polyline>')
                .format(fx=first_x, b=_n(base), c=coords, lx=last_x)
            )
        # x ticks at round times; labels kept inside the chart
        for i, label in time_ticks([t for t, _ in points], bucket):
            x = left + (i + 0.5) * slot
            anchor = "start" if x < left + 40 else ("end" if x > width - right - 40 else "middle")
            parts.append(
                Markup(
                    '<line class="tick" x1="{x}" x2="{x}" y1="{b}" y2="{b2}"></line>'
                    '<text class="axis" x="{x}" y="{ty}" text-anchor="{a}">{label}</text>'
                ).format(x=_n(x), b=_n(base), b2=_n(base + 4), ty=_n(base + 18), a=anchor,
                         label=label)
            )
    parts.append(
        Markup('<line class="baseline" x1="{x1}" x2="{x2}" y1="{b}" y2="{b}"></line></svg>')
        .format(x1=left, x2=width - right, b=_n(base))
    )
    return Markup("").join(parts)


def sparkline(values: Sequence[int], *, label: str, width: int = 120, height: int = 28) -> Markup:
    """A small activity line for the index (aria-label says what it shows)."""
    vals = [c for _, c in merge_points([("", v) for v in values], 60)]
    peak = max(vals, default=0) or 1
    n = len(vals)
    if n == 0:
        vals, n = [0, 0], 2
    if n == 1:
        vals, n = vals * 2, 2
    step = (width - 4) / (n - 1)
    pts = " ".join(
        f"{_n(2 + i * step)},{_n(height - 3 - (height - 6) * v / peak)}"
        for i, v in enumerate(vals)
    )
    return Markup(
        '<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        '<polyline points="{pts}"></polyline></svg>'
    ).format(w=width, h=height, label=label, pts=pts)


def grouped_bar_chart(
    items: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    chart_id: str,
    title: str,
    noun: str = "posts",
    width: int = 960,
    label_chars: int = 34,
) -> Markup:
    """One group per item, one bar per series (values are percentages). The legend is
    HTML next to the chart (it wraps; colours are classes s0…s7)."""
    k = max(len(series), 1)
    bar_h, gap = 11, 12
    group_h = k * bar_h + gap
    label_w, value_w = 240, 60
    bar_x = label_w + 10
    bar_max = width - bar_x - value_w
    height = group_h * max(len(items), 1) + 4
    top = max((v for _, vals in series for v in vals), default=0) or 1
    parts = [_svg_open(chart_id, width, height, title, "grouped")]
    for i, item in enumerate(items):
        gy = i * group_h + gap / 2
        if i:
            parts.append(Markup('<line class="grid" x1="0" x2="{w}" y1="{y}" y2="{y}"></line>')
                         .format(w=width, y=_n(i * group_h)))
        parts.append(
            Markup('<text class="label" x="{x}" y="{y}" text-anchor="end">{label}</text>')
            .format(x=label_w, y=_n(gy + k * bar_h / 2 + 4), label=_clip(item, label_chars))
        )
        for s, (name, vals) in enumerate(series):
            v = vals[i]
            if not v:
                continue
            w = max(bar_max * v / top, 1.5)
            y = gy + s * bar_h
            parts.append(
                Markup(
                    '<g><title>{item} in {name}: {pct}% of {noun}</title>'
                    '<rect class="s{c}" x="{x}" y="{y}" width="{w}" height="{h}"></rect>'
                    '<text class="value small" x="{vx}" y="{ty}">{pct}%</text></g>'
                ).format(item=_clip(item, 200), name=_clip(name, 200), pct=f"{v:.1f}", noun=noun,
                         c=s % 8, x=bar_x, y=_n(y), w=_n(w), h=bar_h - 1,
                         vx=_n(bar_x + w + 4), ty=_n(y + bar_h - 2))
            )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


__all__ = ["bar_chart", "fmt_int", "grouped_bar_chart", "sparkline", "time_ticks",
           "timeline_chart"]
