"""PNG charts for /stats and the weekly digest (matplotlib, Agg, no pyplot state).

DejaVu Sans ships with matplotlib and has every Kazakh letter (Ә Ғ Қ Ң Ө Ұ Ү Һ І).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.services.stats import Stats, Translate, _

FONT = "DejaVu Sans"
COLORS = ("#1f77b4", "#2ca02c", "#d62728")


def stats_chart(stats: Stats, tr: Translate, place_name: Callable[[str, int], str],
                top: int = 10) -> bytes:
    """Left: the 12-week trend; right: participation by region (or district)."""
    fig = Figure(figsize=(12, 5.5), dpi=100)
    FigureCanvasAgg(fig)
    with matplotlib.rc_context({"font.family": FONT, "font.size": 9}):
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        _trend(ax1, stats, tr)
        _areas(ax2, stats, tr, place_name, top)
        fig.suptitle(tr(_("Statistics: {period}")).format(period=stats.period.label()),
                     fontsize=12)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def _trend(ax, stats: Stats, tr: Translate) -> None:
    trend = stats.trend
    ax.set_title(tr(_("Last 12 weeks")))
    if trend is None:
        return
    x = list(range(len(trend.week_starts)))
    series = ((_("Registrations"), trend.registrations),
              (_("Participation"), trend.participation),
              (_("Attendance"), trend.attendance))
    for (label, values), color in zip(series, COLORS, strict=True):
        ax.plot(x, values, marker="o", markersize=3, label=tr(label), color=color)
    ax.set_xticks(x, [d.strftime("%d.%m") for d in trend.week_starts], rotation=45)
    ax.set_xlabel(tr(_("Week starting")))
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    ax.legend(loc="best")


def _areas(ax, stats: Stats, tr: Translate,
           place_name: Callable[[str, int], str], top: int) -> None:
    heading = tr(_("By region")) if stats.scope.area == "region" else tr(_("By district"))
    ax.set_title(heading + " — " + tr(_("Participation")))
    rows = stats.areas[:top][::-1]
    names = [_short(place_name(stats.scope.area, r.area_id or 0)) for r in rows]
    values = [r.participation for r in rows]
    ax.barh(range(len(rows)), values, color="#ff7f0e")
    ax.set_yticks(range(len(rows)), names)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v}", va="center", fontsize=8)
    if not rows:
        ax.text(0.5, 0.5, tr(_("No activity in this period.")), ha="center", va="center",
                transform=ax.transAxes)
    ax.grid(axis="x", alpha=0.3)


def _short(name: str, limit: int = 28) -> str:
    name = name if len(name) <= limit else name[:limit - 1] + "…"
    return name.replace("$", r"\$")  # a name is text: "$…$" would be parsed as mathtext
