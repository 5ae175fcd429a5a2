"""Commands of the leaderboard site: ``site build`` and ``site serve`` (:mod:`medeval.site` does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from medeval.cli.options import DataDir, apply_shared_options


def site_build_cmd(
    results: Annotated[Path, typer.Option("--results", help="Leaderboard folder with results/.")] = Path("leaderboard"),
    out: Annotated[Path, typer.Option("--out", help="Output folder of the static site.")] = Path("site_build"),
    site_url: Annotated[Optional[str], typer.Option("--site-url", help="Public URL the site is served from, e.g. https://org.github.io/medeval/ (links in the 404 page and sitemap).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Render the leaderboard site (Jinja2 -> Markdown -> MkDocs Material).

    Args:
        results: the leaderboard folder holding ``results/``.
        out: the output folder of the static site (replaced whole).
        site_url: the public URL the site is served from (links in the 404 page and the sitemap).
        data_dir: the data folder whose task statistics the task pages show.
    """
    from medeval.site import build_site

    apply_shared_options(None, data_dir)
    typer.echo(build_site(results, out, site_url=site_url))


def site_serve_cmd(
    results: Annotated[Path, typer.Option("--results")] = Path("leaderboard"),
    out: Annotated[Path, typer.Option("--out")] = Path("site_build"),
    port: Annotated[int, typer.Option("--port")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Build the site, then serve it on http://127.0.0.1:PORT.

    Args:
        results: the leaderboard folder holding ``results/``.
        out: the output folder of the static site.
        port: the local port to serve on.
        data_dir: the data folder whose task statistics the task pages show.
    """
    from medeval.site import serve_site

    apply_shared_options(None, data_dir)
    serve_site(results, out, port=port, echo=typer.echo)
