"""Finishing touches on the HTML MkDocs wrote: a 404 page that keeps its styles under any subpath, no empty sitemap.

MkDocs writes ``404.html`` with root-absolute links (``/assets/...``) unless ``site_url`` is known, because a server
shows that page for a missing address at any depth. Served from a subpath (a GitHub project page,
``https://org.github.io/medeval/``) those links point outside the site and the page loses its styles. Without a
``site_url`` the page is made self-contained instead: its stylesheets are inlined and its links made relative (right
for a miss at the site's top level, the usual case). With a ``site_url`` MkDocs' own absolute links are right and
are kept. ``sitemap.xml`` lists nothing without a ``site_url``, so it is removed then rather than shipped empty.

    >>> from medeval.site.postbuild import finish_site
    >>> finish_site(Path("site_build"), site_url=None)
"""

from __future__ import annotations

import re
from pathlib import Path

_LINK_CSS = re.compile(r'<link\s+rel="stylesheet"\s+href="/([^"]+)"\s*/?>')
_ABS_ATTR = re.compile(r'(\s(?:href|src))="/(?!/)([^"]*)"')


def _inline_styles(html: str, site: Path) -> str:
    def repl(m: re.Match[str]) -> str:
        path = (site / m.group(1).split("?")[0]).resolve()
        if site.resolve() not in path.parents or not path.is_file():
            return m.group(0)
        css = path.read_text(encoding="utf-8").replace("</style", "<\\/style")
        # url(...) inside the inlined CSS is relative to the stylesheet's folder; make it site-relative
        folder = path.parent.relative_to(site.resolve()).as_posix()
        css = re.sub(r"url\((['\"]?)(?!data:|https?:|/|#)([^)'\"]+)\1\)", lambda u: f"url({u.group(1)}{folder}/{u.group(2)}{u.group(1)})", css)
        return f"<style>{css}</style>"

    return _LINK_CSS.sub(repl, html)


def fix_404(site: Path) -> None:
    """Make ``site/404.html`` independent of where the site is served (see the module docstring).

    Args:
        site: the built site folder; a missing ``404.html`` is left alone.
    """
    page = site / "404.html"
    if not page.is_file():
        return
    html = page.read_text(encoding="utf-8")
    html = _inline_styles(html, site)
    html = _ABS_ATTR.sub(lambda m: f'{m.group(1)}="{m.group(2) or "./"}"', html)
    page.write_text(html, encoding="utf-8")


def finish_site(site: Path, site_url: str | None) -> None:
    """Apply the finishing touches to a freshly built site folder.

    Args:
        site: the built site folder.
        site_url: the public URL it is served from; without one, the 404 page is made location-independent and
            the sitemap (which needs absolute URLs) is removed.
    """
    if not site_url:
        fix_404(site)
        for name in ("sitemap.xml", "sitemap.xml.gz"):
            (site / name).unlink(missing_ok=True)
