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
from medeval.site.safe import json_for_script, missing, neutral

if TYPE_CHECKING:
    from medeval.site.context import SiteData

TOP_N = 10
#: Axes never auto-range (a 58-62 range would make small differences look large); the site's script restyles
#: colours for dark mode and moves legends below the plot on narrow screens.
_LAYOUT = {"template": "plotly_white", "height": 460, "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
           "legend": {"font": {"size": 10}}, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}


def _label(name: str, reported: bool = False) -> str:
    """A name for plotly, which renders a subset of HTML in labels: ``<``, ``>`` and ``&`` escaped (plotly shows
    ``&quot;`` literally, so quotes are left as they are); bidi controls shown as code points."""
    return html.escape(neutral(name), quote=False) + (" (reported)" if reported else "")


def _fig_json(fig: Any) -> Any:
    import plotly.io as pio

    return json_for_script(json.loads(pio.to_json(fig, validate=False)))


def size_figure(site: SiteData, bench: str) -> tuple[Any, str]:
    """Mean (Task, completed) against parameters; models below full coverage are a separate, hidden trace.

    Args:
        site: the site's data.
        bench: the benchmark's name.

    Returns:
        ``(figure, caption)``: the plotly figure as safe JSON for the page's script, and the text shown under it.
    """
    import plotly.graph_objects as go

    from medeval.site.formatting import as_bool

    s = site.summaries[bench]
    s = s[~s["Reported"].astype(bool)]
    have = s[s["Parameters"].notna() & s["Mean (Task, completed)"].notna()]
    fig = go.Figure()
    for complete in (True, False):
        part = have[~have["Provisional"].astype(bool)] if complete else have[have["Provisional"].astype(bool)]
        for flag, label, symbol in ((True, "open weights", "circle"), (False, "closed weights", "diamond"), (None, "weights unknown", "x")):
            sub = part[part["Open weights"].map(lambda v, f=flag: as_bool(v) is f)]
            if sub.empty:
                continue
            fig.add_trace(go.Scatter(
                x=sub["Parameters"].astype(float).tolist(), y=(sub["Mean (Task, completed)"] * 100).round(2).tolist(),
                mode="markers", name=label + ("" if complete else ", partial coverage"),
                marker={"symbol": symbol + ("" if complete else "-open"), "size": 9},
                visible=True if complete else "legendonly",
                text=[_label(m) for m in sub["Model"]], customdata=sub["Coverage"].tolist(),
                hovertemplate="%{text}<br>%{x:.3s} parameters<br>mean %{y:.2f} over %{customdata} tasks<extra></extra>",
            ))
    fig.update_layout(**_LAYOUT, xaxis={"type": "log", "title": "parameters"},
                      yaxis={"title": "Mean (Task, completed) x100", "range": [0, 100]})
    skipped = len(s) - len(have)
    notes = []
    if (have["Provisional"].astype(bool)).any():
        notes.append("Models that have not run every task are means over other task sets: they are hidden (click "
                     "their legend entry to show them, as open markers).")
    if skipped:
        notes.append(f"{skipped} model(s) without a parameter count are not shown.")
    return _fig_json(fig), " ".join(notes)


def _radar(rows: list[tuple[str, list[Any], bool]], types: list[str]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, vals, rep in rows:
        if not types:
            break
        fig.add_trace(go.Scatterpolar(
            r=[*vals, vals[0]], theta=[*types, types[0]], name=_label(name, rep), mode="lines+markers",
            line={"dash": "dot" if rep else "solid"},
        ))
    fig.update_layout(**_LAYOUT, polar={"radialaxis": {"range": [0, 100]}})
    return _fig_json(fig)


def radar_figure(site: SiteData, bench: str) -> tuple[Any, str]:
    """Per-type means of the top models that ran tasks of every type (never mixed with the paper's rows).

    Args:
        site: the site's data.
        bench: the benchmark's name.

    Returns:
        ``(figure, caption)``.
    """
    s = site.summaries[bench]
    types = [t for t in TASK_TYPES if t in s.columns]
    computed = s[~s["Reported"].astype(bool)]
    full = computed[computed[types].notna().all(axis=1)].head(TOP_N) if types else computed.head(0)
    rows = [(r["Model"], [round(float(r[t]) * 100, 2) for t in types], False) for r in full.to_dict("records")]
    left_out = len(computed) - len(computed[computed[types].notna().all(axis=1)]) if types else 0
    note = f"The top {len(rows)} models by Borda rank among those with a result in every task type; means over the tasks each model ran"
    note += f" ({left_out} model(s) without a result in some type are left out)." if left_out else "."
    return _radar(rows, types), note


def reported_radar_figure(site: SiteData, bench: str) -> tuple[Any, str] | None:
    """The paper's reported per-type means, on their own (their tasks are the authors' data, not these).

    Args:
        site: the site's data.
        bench: the benchmark's name.

    Returns:
        ``(figure, caption)``, or None when the paper reports no complete row for the benchmark.
    """
    rep = site.lb.reported_table(bench)
    if rep.empty:
        return None
    types = [t for t in TASK_TYPES if t in rep.columns and rep[t].notna().all()]
    rows = [(r["Model"], [round(float(r[t]) * 100, 2) for t in types], True) for r in rep.to_dict("records")]
    return _radar(rows, types), "As the MedTE paper reports them (its own task data): not comparable task by task with the runs above."


def source_figure(site: SiteData, bench: str) -> tuple[Any, str]:
    """Grouped bars: each top model's mean per upstream source (over the tasks of the source it ran).

    Args:
        site: the site's data.
        bench: the benchmark's name.

    Returns:
        ``(figure, caption)``.
    """
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
    """The figures of one benchmark, ready for the plots template.

    Args:
        site: the site's data.
        bench: the benchmark's name.

    Returns:
        One dict per figure: ``id``, ``title``, ``json`` (the figure as safe JSON) and ``note`` (its caption).
    """
    from medeval.site.formatting import bench_id

    bid = bench_id(bench)
    out = []
    for kind, title, make in (("size", "Score vs model size", size_figure), ("radar", "Task-type means", radar_figure),
                              ("reported", "Task-type means the paper reports", reported_radar_figure),
                              ("sources", "Mean per upstream source", source_figure)):
        made = make(site, bench)
        if made is None:
            continue
        fig, note = made
        out.append({"id": f"fig-{bid}-{kind}", "title": title, "json": fig, "note": note})
    return out
