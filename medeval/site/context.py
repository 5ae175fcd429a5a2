"""The site's data: what the templates need, computed once from a Leaderboard (summaries, sources, model slugs,
each model's standing). The table model (:mod:`medeval.site.model`), the views and the page writers read it.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from medeval.leaderboard import Leaderboard
from medeval.site.formatting import bench_title, model_slugs
from medeval.site.safe import text


class SiteData:
    """Everything the templates need, computed once from a Leaderboard.

    Args:
        lb: the leaderboard (:func:`medeval.leaderboard.load_leaderboard`).
        n_boot: bootstrap resamples of each model's 95% interval.

    Example:
        >>> site = SiteData(load_leaderboard("leaderboard"), n_boot=200)  # doctest: +SKIP
        >>> site.benchmarks
        ['MedEval(v1)', 'MedEval-Terms(v1)']
    """

    def __init__(self, lb: Leaderboard, *, n_boot: int = 1000) -> None:
        self.lb = lb
        self.slugs = model_slugs(lb.models.index if len(lb.models) else [])
        self.benchmarks = [b for b in lb.benchmarks if b in set(lb.tasks["benchmark"])]
        self.summaries = {b: lb.summary(b, n_boot=n_boot) for b in self.benchmarks}
        self.at_chance = {b: lb.tasks_at_chance(b) for b in self.benchmarks}
        self.sources = {b: lb.group_means(b, by="source") for b in self.benchmarks}
        self.pages: list[tuple[str, str]] = []  # hand-written pages copied in: (title, file)
        self.by_model = {m: df for m, df in lb.ranked_scores.groupby("model", sort=False)}
        self.standing: dict[str, list[dict[str, Any]]] = {}
        for bench in self.benchmarks:
            s = self.summaries[bench]
            n_models = int((~s["Reported"].astype(bool)).sum())
            for r in s[~s["Reported"].astype(bool)].to_dict("records"):
                self.standing.setdefault(r["Model"], []).append(
                    {"bench": bench, "title": bench_title(bench), "n_models": n_models, **r})

    def model_href(self, name: str, prefix: str = "") -> str | None:
        """The URL of a model's page.

        Args:
            name: the model's name.
            prefix: the path back to the site root from the linking page (``"../"`` from ``tasks/``).

        Returns:
            ``<prefix>models/<slug>.html``, or None for a model without a page (a paper's reported row).
        """
        s = self.slugs.get(name)
        return f"{prefix}models/{s}.html" if s else None

    def model_link(self, name: str, prefix: str = "") -> Markup:
        """A link to a model's page, or its escaped name when it has none.

        Args:
            name: the model's name.
            prefix: the path back to the site root from the linking page.

        Returns:
            Safe HTML: ``<a href="...">name</a>`` or the escaped name.
        """
        href = self.model_href(name, prefix)
        if href is None:
            return text(name)
        return Markup(f'<a href="{text(href)}">{text(name)}</a>')


def model_standing(site: SiteData, model: str) -> list[dict[str, Any]]:
    """The model's row of each benchmark's leaderboard (benchmarks it has no score on are left out).

    Args:
        site: the site's data.
        model: the model's name.

    Returns:
        One dict per benchmark: ``bench``, ``title``, ``n_models`` and the model's summary columns.
    """
    return site.standing.get(model, [])
