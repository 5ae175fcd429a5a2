"""The plots page's figures (plotly): score vs model size, a radar of task-type means, per-source bars.

Figures are returned as plotly JSON, embedded in the page as ``<script type="application/json">`` and drawn by the
site's own script with the plotly.js bundled from the plotly wheel (``plotly.offline.get_plotlyjs()``), so the page
works offline. Model names are HTML-escaped before they reach plotly, which renders a subset of HTML in labels.

    >>> from medeval.site.plots import benchmark_figures
    >>> figs = benchmark_figures(site_data, "MedEval(v1)")   # [{"id", "title", "json", "note"}]
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from medeval.leaderboard import TASK_TYPES
from medeval.site.safe import json_for_script, missing

if TYPE_CHECKING:
    from medeval.site.render import SiteData

TOP_N = 10
_LAYOUT = {"template": "plotly_white", "height": 460, "margin": {"l": 60, "r": 20, "t": 40, "b": 60}, "legend": {"font": {"size": 10}}}


def _label(name: str, reported: bool = False) -> str:
    return html.escape(name) + (" (reported)" if reported else "")


def _fig_json(fig: Any) -> Any:
    import plotly.io as pio

    return json_for_script(json.loads(pio.to_json(fig, validate=False)))


def size_figure(site: SiteData, bench: str) -> tuple[Any, str]:
    import plotly.graph_objects as go

    from medeval.site.render import as_bool

    s = site.summaries[bench]
    s = s[~s["Reported"].astype(bool)]
    have = s[s["Parameters"].notna() & s["Mean (Task, completed)"].notna()]
    fig = go.Figure()
    for flag, label, symbol in ((True, "open weights", "circle"), (False, "closed weights", "diamond"), (None, "weights unknown", "x")):
        sub = have[have["Open weights"].map(lambda v, f=flag: as_bool(v) is f)]
        if sub.empty:
            continue
        fig.add_trace(go.Scatter(
            x=sub["Parameters"].astype(float).tolist(), y=(sub["Mean (Task, completed)"] * 100).round(2).tolist(),
            mode="markers", name=label, marker={"symbol": symbol, "size": 9},
            text=[_label(m) for m in sub["Model"]], customdata=sub["Coverage"].tolist(),
            hovertemplate="%{text}<br>%{x:.3s} parameters<br>mean %{y:.2f} over %{customdata} tasks<extra></extra>",
        ))
    fig.update_layout(**_LAYOUT, xaxis={"type": "log", "title": "parameters"}, yaxis={"title": "Mean (Task, completed) x100"})
    skipped = len(s) - len(have)
    note = f"{skipped} model(s) without a parameter count are not shown." if skipped else ""
    return _fig_json(fig), note


def radar_figure(site: SiteData, bench: str) -> tuple[Any, str]:
    import plotly.graph_objects as go

    s = site.summaries[bench]
    types = [t for t in TASK_TYPES if t in s.columns]
    computed = s[~s["Reported"].astype(bool)].head(TOP_N)
    reported = s[s["Reported"].astype(bool)]
    fig = go.Figure()
    for rows, rep in ((computed, False), (reported, True)):
        for r in rows.to_dict("records"):
            vals = [None if missing(r.get(t)) else round(float(r[t]) * 100, 2) for t in types]
            fig.add_trace(go.Scatterpolar(
                r=[*vals, vals[0]] if vals else [], theta=[*types, types[0]] if types else [], name=_label(r["Model"], rep),
                mode="lines+markers", line={"dash": "dot" if rep else "solid"},
            ))
    fig.update_layout(**_LAYOUT, polar={"radialaxis": {"range": [0, 100]}})
    note = f"The top {min(TOP_N, len(computed))} models by Borda rank" + (", and the paper's reported rows (dotted)" if len(reported) else "")
    return _fig_json(fig), note + "; means over the tasks each model ran."


def source_figure(site: SiteData, bench: str) -> tuple[Any, str]:
    import plotly.graph_objects as go

    means, counts = site.sources[bench]
    s = site.summaries[bench]
    top = [m for m in s[~s["Reported"].astype(bool)]["Model"].head(TOP_N) if m in means.index]
    fig = go.Figure()
    for m in top:
        fig.add_trace(go.Bar(
            x=list(means.columns), y=[None if missing(v) else round(float(v) * 100, 2) for v in means.loc[m]],
            name=_label(m), customdata=[f"{n}/{counts.attrs['sizes'][g]}" for g, n in counts.loc[m].items()],
            hovertemplate="%{x}: %{y:.2f} (%{customdata} tasks)<extra>" + _label(m) + "</extra>",
        ))
    fig.update_layout(**_LAYOUT, barmode="group", yaxis={"title": "mean x100", "range": [0, 100]})
    return _fig_json(fig), f"The top {len(top)} models by Borda rank; mean over the tasks of each source they ran."


def benchmark_figures(site: SiteData, bench: str) -> list[dict[str, Any]]:
    """The three figures of one benchmark, ready for the plots template."""
    from medeval.site.render import bench_id

    bid = bench_id(bench)
    out = []
    for kind, title, make in (("size", "Score vs model size", size_figure), ("radar", "Task-type means", radar_figure),
                              ("sources", "Mean per upstream source", source_figure)):
        fig, note = make(site, bench)
        out.append({"id": f"fig-{bid}-{kind}", "title": title, "json": fig, "note": note})
    return out
