"""The annual report's picture: the year by quarter, and participation by region."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.services.stats import Translate, _

FONT = "DejaVu Sans"  # has every Kazakh letter
COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e")


def year_chart(quarters: list[dict[str, int]], regions: list[Any], tr: Translate,
               place_name: Callable[[str, int], str], top: int = 17) -> bytes:
    """Left: registrations, participation and winners per quarter; right: participation
    by region (the 17 regions and cities of national significance fit)."""
    fig = Figure(figsize=(11, 5.2), dpi=110)
    FigureCanvasAgg(fig)
    with matplotlib.rc_context({"font.family": FONT, "font.size": 9}):
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
        series = [(tr(_("Registrations")), [q["reg_student"] + q["reg_coordinator"]
                                            + q["reg_staff"] for q in quarters]),
                  (tr(_("Participation")), [q["joins"] + q["submissions"] + q["attendance"]
                                            for q in quarters]),
                  (tr(_("Winners")), [q["winners"] for q in quarters])]
        width = 0.27
        for i, (label, values) in enumerate(series):
            left.bar([x + (i - 1) * width for x in range(4)], values, width, label=label,
                     color=COLORS[i])
        left.set_xticks(range(4), ["I", "II", "III", "IV"])
        left.set_title(tr(_("By quarter")))
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3, fontsize=8)
        shown = regions[:top][::-1]
        right.barh([place_name("region", r.area_id or 0) for r in shown],
                   [r.participation for r in shown], color=COLORS[0])
        right.set_title(tr(_("Participation by region")))
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()
