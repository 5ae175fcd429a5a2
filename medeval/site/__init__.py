"""The leaderboard's static site: result files -> Jinja2 -> Markdown -> MkDocs Material -> HTML that works offline.

    >>> from medeval.site import build_site, serve_site
    >>> print(build_site("leaderboard", "site_build"))     # the summary message `medeval site build` prints
    >>> serve_site("leaderboard", "site_build", port=8000)  # build, then serve on http://127.0.0.1:8000

How a build goes: :func:`medeval.leaderboard.load_leaderboard` reads the results (broken files become warnings);
:func:`medeval.site.pages.render_docs` writes the Markdown pages and downloads into a temporary folder, with the
site's own script and style (``assets/``) and plotly.js from the plotly wheel; ``mkdocs.yml`` is generated there
too (Google Fonts off, so nothing is fetched from the network); MkDocs builds into a folder next to ``out_dir``,
which then replaces ``out_dir`` in one rename. ``out_dir`` is only replaced if it is empty or an earlier site build
(it holds the marker file ``.medeval-site``), never an unrelated folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medeval.errors import MedEvalError
from medeval.fsutil import replace_dir
from medeval.os_errors import check_writable

ASSETS = Path(__file__).parent / "assets"
MARKER = ".medeval-site"

__all__ = ["build_site", "serve_site"]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise MedEvalError(f"{out}: --out is a file; give a folder for the site")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise MedEvalError(
            f"{out}: --out exists and is not an earlier medeval site build (no {MARKER} inside); "
            "choose a new or empty folder, e.g. --out site_build"
        )


def mkdocs_config(docs: Path, site_dir: Path, nav: list[dict[str, str]], site_url: str | None = None) -> dict[str, Any]:
    """The generated mkdocs.yml, as a dict (``site_url`` only when given: it makes 404.html and sitemap.xml absolute).

    Args:
        docs: the folder of Markdown pages (MkDocs' ``docs_dir``).
        site_dir: where MkDocs writes the HTML.
        nav: the navigation (:func:`medeval.site.pages.nav`).
        site_url: the public URL the site is served from, if known.

    Returns:
        The configuration: Material theme without web fonts, the leaderboard's CSS and JavaScript, search.
    """
    extra = {"site_url": site_url} if site_url else {}
    return {
        "site_name": "MedEval leaderboard",
        **extra,
        "site_description": "Medical text-embedding leaderboard (MedEval v1, MedEval-Terms), computed with mteb",
        "docs_dir": str(docs),
        "site_dir": str(site_dir),
        "use_directory_urls": False,
        "strict": False,
        "nav": nav,
        "theme": {
            "name": "material",
            "font": False,  # no Google Fonts: the site must work offline and leak no visits
            "features": ["navigation.tabs", "navigation.top", "toc.follow"],
            "palette": [
                {"scheme": "default", "primary": "indigo", "accent": "indigo",
                 "toggle": {"icon": "material/brightness-7", "name": "Dark mode"}},
                {"scheme": "slate", "primary": "indigo", "accent": "indigo",
                 "toggle": {"icon": "material/brightness-4", "name": "Light mode"}},
            ],
        },
        "extra": {"generator": False},
        "extra_css": ["assets/leaderboard.css"],
        "extra_javascript": ["assets/leaderboard.js"],
        "markdown_extensions": ["admonition", "attr_list", "tables", {"toc": {"permalink": True}}],
        "plugins": ["search"],
        "validation": {"omitted_files": "ignore", "absolute_links": "ignore", "unrecognized_links": "warn"},
    }


def build_site(results_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, n_boot: int = 1000,
               site_url: str | None = None) -> str:
    """Build the static site from ``results_dir`` into ``out_dir``; returns a summary (and the warnings).

    Args:
        results_dir: the leaderboard folder (holding ``results/``) or a results folder.
        out_dir: where the site goes; replaced only if empty or an earlier site build.
        n_boot: bootstrap draws for intervals and paired tie tests.
        site_url: the address the site is served from (e.g. ``https://org.github.io/medeval/``), if known; without
            it the site works from any folder or subpath (404 page self-contained, no sitemap).

    Returns:
        The summary `medeval site build` prints.
    """
    import plotly.offline
    import yaml
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    from medeval.leaderboard import load_leaderboard, results_root
    from medeval.site.postbuild import finish_site
    from medeval.site.pages import nav, render_docs

    started = time.perf_counter()
    results = Path(results_dir)
    out = Path(out_dir).resolve()
    _check_out_dir(out)
    check_writable(out.parent, "--out")  # a read-only or full disk is one line before the build, not a traceback after
    lb = load_leaderboard(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    collect = _Collect()
    mk_logger = logging.getLogger("mkdocs")
    try:
        with tempfile.TemporaryDirectory(prefix="medeval-site-src-") as src:
            docs = Path(src) / "docs"
            site = render_docs(lb, docs, n_boot=n_boot, results_root=results_root(results))
            (docs / "assets").mkdir(parents=True, exist_ok=True)
            for f in ASSETS.iterdir():
                if f.is_file():
                    shutil.copy2(f, docs / "assets" / f.name)
            (docs / "assets" / "plotly.min.js").write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
            config_path = Path(src) / "mkdocs.yml"
            config_path.write_text(yaml.safe_dump(mkdocs_config(docs, stage, nav(site, bool(lb.warnings)), site_url), sort_keys=False))
            mk_logger.addHandler(collect)
            level = mk_logger.level
            mk_logger.setLevel(logging.WARNING)
            try:
                mkdocs_build(load_config(config_file=str(config_path)))
            finally:
                mk_logger.removeHandler(collect)
                mk_logger.setLevel(level)
        finish_site(stage, site_url)
        (stage / MARKER).write_text("built by `medeval site build`; this folder is replaced on the next build\n")
        replace_dir(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    n_models = len(lb.models)
    lines = [
        (f"site built in {out} ({time.perf_counter() - started:.1f}s): {n_models} model(s), "
        f"{len(lb.scores)} score(s), {len(site.benchmarks)} benchmark(s); open {out / 'index.html'} "
        f"or run `medeval site serve`"),
    ]
    if lb.warnings:
        lines.append(f"{len(lb.warnings)} warning(s) (also on the site's Warnings page):")
        lines += [f"  warning: {w}" for w in lb.warnings]
    if collect.messages:
        lines.append(f"{len(collect.messages)} MkDocs warning(s):")
        lines += [f"  mkdocs: {m}" for m in collect.messages]
    return "\n".join(lines)


def make_server(directory: str | os.PathLike[str], port: int = 8000):  # type: ignore[no-untyped-def]
    """A threading HTTP server for ``directory`` on 127.0.0.1 (port 0 picks a free one); call serve_forever().

    Args:
        directory: the folder to serve.
        port: the port on 127.0.0.1.

    Returns:
        The ``ThreadingHTTPServer`` (not yet serving; request logging is off).

    Raises:
        OSError: the port is taken or not allowed.
    """
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve_site(results_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], port: int = 8000, *,
               echo: Callable[[str], None] = lambda line: None) -> None:
    """Build the site, then serve it on http://127.0.0.1:PORT until Ctrl-C.

    Args:
        results_dir: the leaderboard folder (holding ``results/``).
        out_dir: where the site goes (see :func:`build_site`).
        port: the port on 127.0.0.1.
        echo: called with the build summary and the address served (``medeval site serve`` prints them).

    Raises:
        MedEvalError: the port cannot be used (one line naming it).
    """
    echo(build_site(results_dir, out_dir))
    try:
        server = make_server(out_dir, port)
    except OSError as err:
        raise MedEvalError(f"cannot serve on 127.0.0.1:{port} ({err.strerror}); choose another --port") from None
    echo(f"serving {Path(out_dir).resolve()} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
