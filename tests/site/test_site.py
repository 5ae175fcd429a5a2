"""medeval site build: pages, escaping of everything a result file controls, NaN as a dash, offline, downloads."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import medeval
from medeval.errors import MedEvalError
from medeval.site.demo import write_model_meta, write_result, write_run_settings

EVIL = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("https://evil.example","click")'
MD_NAME = "org/*bold* [click](https://evil.example) `code`"
TERMS = "MedEval-Terms(v1)"


def terms_tasks() -> list[str]:
    return sorted(t.metadata.name for t in medeval.get_tasks(benchmark=TERMS))


def write_model(root: Path, name: str, scores: dict[str, float], folder: str | None = None, **meta) -> Path:
    path = root / "results" / (folder or name.replace("/", "__")) / "rev1"
    write_model_meta(path, name, "rev1", **meta)
    for task, score in scores.items():
        write_result(path, task, score)
    write_run_settings(path, list(scores), batch_size=32)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """A site built with the CLI from four models: good, partial with a NaN, hostile metadata, Markdown in a name."""
    root = tmp_path_factory.mktemp("lb")
    home = tmp_path_factory.mktemp("home")
    tasks = terms_tasks()
    write_model(root, "org/good", {t: 0.4 + i / 50 for i, t in enumerate(tasks)}, n_parameters=22_700_000,
                embed_dim=384, license="apache-2.0", open_weights=True, reference="https://example.org/good")
    partial = write_model(root, "org/partial", {tasks[0]: 0.61, tasks[1]: float("nan"), tasks[2]: 0.33}, open_weights=False)
    (partial / f"{tasks[3]}.json").write_text("{ definitely not json", encoding="utf-8")
    evil = write_model(root, EVIL, {t: 0.5 for t in tasks[:6]}, folder="evil__model", release_date="2024-01-01")
    # mteb's ModelMeta would reject these values, but a hand-edited model_meta.json can say anything
    meta = json.loads((evil / "model_meta.json").read_text())
    meta.update(license="<img src=x onerror=alert(3)>", reference="javascript:alert(2)", framework=["<b>bold</b>"],
                similarity_fn_name=FORMULA)
    (evil / "model_meta.json").write_text(json.dumps(meta))
    write_model(root, MD_NAME, {tasks[0]: 0.2}, folder="org__md")
    # descriptive statistics for one task that does not build offline, as `medeval build` leaves them in the data folder
    stats_task = "MedMCQAPairClassification"
    (home / "tasks" / stats_task).mkdir(parents=True)
    (home / "tasks" / stats_task / "stats.json").write_text(json.dumps({
        "data/test": {"num_rows": 2457, "text_length": {"min": 3, "mean": 40.5, "max": 200},
                      "label_counts": {"Neoplasms": 100, "<i>Other</i>": 5}}, "task_type": "Classification"}))
    out = root.parent / (root.name + "-site")
    from medeval import cli

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDEVAL_HOME", str(home))
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = cli.main(["site", "build", "--results", str(root), "--out", str(out)])
    return {"root": root, "out": out, "code": code, "message": buf.getvalue(), "tasks": tasks, "stats_task": stats_task}


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def html_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def test_build_writes_every_page(built):
    out = built["out"]
    assert built["code"] == 0, built["message"]
    assert "site built" in built["message"] and "4 model(s)" in built["message"]
    assert "MkDocs warning" not in built["message"], built["message"]
    for page in ("index.html", "tasks/index.html", "models/index.html", "plots.html", "downloads.html", "submit.html",
                 "cite.html", "about.html", "warnings.html", "matrix.html", "compare.html"):
        assert (out / page).is_file(), page
    for task, cls in medeval.task_classes().items():
        if cls.spec.benchmark is None:  # a user task read by another test, without results: no page of its own
            assert not (out / "tasks" / f"{task}.html").exists(), task
            continue
        assert (out / "tasks" / f"{task}.html").is_file(), task
    assert len(list((out / "models").glob("*.html"))) == 5  # four models + the index
    home = (out / "index.html").read_text()
    assert 'id="board-terms"' in home and 'id="board-v1"' in home and "reported" in home
    assert (out / ".medeval-site").is_file()
    # hand-written pages (the repository's site/ folder) are copied in and listed in the navigation
    from medeval.site.pages import pages_dir

    assert pages_dir() is not None and (pages_dir() / "submit.md").is_file()
    submit = (out / "submit.html").read_text()
    assert "medeval validate" in submit and "How to submit" in home
    assert not (out / "README.html").exists()


def test_broken_file_is_a_warning_on_the_site_and_in_the_message(built):
    broken = f"{built['tasks'][3]}.json"
    assert "warning" in built["message"] and broken in built["message"]
    assert broken in (built["out"] / "warnings.html").read_text()
    assert broken in (built["out"] / "index.html").read_text()  # the home page shows the first warnings too


def test_everything_from_result_files_is_escaped(built):
    out = built["out"]
    for page in html_files(out):
        html = page.read_text()
        assert EVIL not in html, page
        assert "<img src=x" not in html and "onerror=alert" not in html.replace("onerror&#61;", ""), page
        assert not re.search(r"""href=["']?\s*javascript:""", html, re.IGNORECASE), page
        assert 'href="https://evil.example' not in html, page  # a Markdown link in a name stays text
        assert not re.search(r"<(em|strong)>bold</(em|strong)>", html), page  # Markdown did not read the name
        assert "<code>code</code>" not in html, page
        assert "<b>bold</b>" not in html, page
    home = (out / "index.html").read_text()
    assert "&#60;script&#62;alert&#40;1&#41;&#60;/script&#62;" in home  # shown, as text
    evil_pages = [p for p in (out / "models").glob("*.html") if p.name != "index.html" and "&#60;script&#62;alert" in p.read_text()]
    assert len(evil_pages) == 1 and "<title>Model " in evil_pages[0].read_text()  # a harmless page title
    evil = evil_pages[0].read_text()
    assert "javascript&#58;alert&#40;2&#41;" in evil  # the non-http reference is text, not a link
    search = (out / "search" / "search_index.json").read_text()
    assert EVIL not in search and "<img src=x" not in search


def test_nan_and_missing_scores_show_a_dash(built):
    out, tasks = built["out"], built["tasks"]
    page = (out / "tasks" / f"{tasks[1]}.html").read_text()
    row = next(r for r in page.split("<tr") if "org/partial" in r)
    assert "&#8212;" in row or "\u2014" in row  # NaN score: a dash
    assert "nan" not in row.lower().replace("data-v", "")
    home = (out / "index.html").read_text()
    partial_row = next(r for r in home.split("<tr") if "org/partial" in r and "board" not in r)
    assert "2/11" in partial_row  # NaN is not a completed task; the broken file neither


def test_task_page_card_stats_bibtex_scores(built):
    out, tasks = built["out"], built["tasks"]
    spec = medeval.get_spec(built["stats_task"])
    page = (out / "tasks" / f"{spec.name}.html").read_text()
    for part in ("Card", "Descriptive statistics", "Citation", "Scores", "Chance level", spec.source.group, "Copy BibTeX"):
        assert part in page, part
    assert "2457" in page or "2,457" in page  # this machine's stats.json
    assert "&#60;i&#62;Other&#60;/i&#62;" in page and "<i>Other</i>" not in page
    assert '<div class="mv-bib" id="bibtex">' in page and 'class="md-button mv-copy"' in page
    key = spec.source.bibtex.split("{", 1)[1].split(",", 1)[0]
    assert key in page
    assert "40.00" in page.split('id="chance"')[1][:600]  # the 1:3 pairs' constant predictor
    other = (out / "tasks" / "MedQAPairClassification.html").read_text()
    assert "Not built here" in other
    # the command alone in the code element, what its input needs after it
    assert "<code>medeval build -t MedQAPairClassification --source-dir DIR</code> (DIR&#58; a folder" in other, \
        other.split("Not built here")[1][:500]
    # an offline task: committed statistics (mteb's format), after the scores; every model's score, best first
    terms = (out / "tasks" / f"{tasks[0]}.html").read_text()
    assert "Not built here" not in terms and "calculate_descriptive_statistics" in terms
    assert terms.index('id="scores"') < terms.index('id="descriptive-statistics"')
    table = terms.split('<table class="mv-table mv-sortable mv-pin" id="task-')[1].split("</table>")[0]
    rows = table.split("<tbody>")[1].split("<tr")[1:]
    assert len(rows) == 4
    assert "org/partial" in rows[0]  # 0.61 beats 0.5, 0.4 and 0.2


def test_model_page_metadata_and_run(built):
    out = built["out"]
    page = next(p for p in (out / "models").glob("org__good*.html")).read_text()
    assert "22.7M" in page and "apache-2.0" in page and 'href="https://example.org/good' in page
    assert "How it was run" in page and "2.26" in page and ">32<" in page  # mteb version and batch size
    # how to obtain and reproduce it: the command that re-runs every score (a Hub id, so -m is the id itself)
    assert "Obtain and reproduce" in page and "medeval run -m org/good --model-revision rev1 -b" in page.replace("&#39;", "'")


def test_no_external_urls_in_scripts_styles_or_fonts(built):
    out = built["out"]

    class Refs(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.refs: list[str] = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "script" and a.get("src"):
                self.refs.append(a["src"])
            if tag == "link" and a.get("href") and a.get("rel") not in ("next", "prev", "canonical"):
                self.refs.append(a["href"])
            if tag in ("img", "iframe", "source") and a.get("src"):
                self.refs.append(a["src"])

    for page in html_files(out):
        parser = Refs()
        html = page.read_text()
        parser.feed(html)
        external = [r for r in parser.refs if re.match(r"^(https?:)?//", r)]
        assert not external, (page, external)
        assert "fonts.googleapis" not in html and "fonts.gstatic" not in html, page
    for css in out.rglob("*.css"):
        assert not re.search(r"(@import|url\()\s*['\"]?(https?:)?//", css.read_text()), css
    plotly = out / "assets" / "plotly.min.js"
    assert plotly.stat().st_size > 1_000_000
    assert '<script src="assets/plotly.min.js">' in (out / "plots.html").read_text()


def test_downloads(built):
    out, root = built["out"], built["root"]
    from medeval.leaderboard import load_leaderboard

    lb = load_leaderboard(root)
    scores = pd.read_csv(out / "downloads" / "scores.csv")
    assert len(scores) == len(lb.scores) and set(scores["model"]) == set(lb.scores["model"])
    records = json.loads((out / "downloads" / "scores.json").read_text())
    assert len(records) == len(lb.scores)
    board = pd.read_csv(out / "downloads" / "leaderboard-terms.csv")
    assert board["Model"].tolist()[0] == "org/good" and "Rank (Borda)" in board.columns
    v1 = pd.read_csv(out / "downloads" / "leaderboard-v1.csv")
    assert v1.empty  # nobody ran v1 here, and the paper's rows are not leaderboard rows
    reported = pd.read_csv(out / "downloads" / "reported-v1.csv")
    assert len(reported) == 5 and "skyfury/CTMEDGTE-cl15-step_8000" in set(reported["Model"])
    models = pd.read_csv(out / "downloads" / "models.csv")
    assert "'" + FORMULA in models["Similarity"].tolist()  # kept, but as text a spreadsheet will not evaluate
    for path in (out / "downloads").glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as f:
            cells = [c for row in csv.reader(f) for c in row]
        formulas = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _is_number(c))]
        assert not formulas, f"{path.name}: cells a spreadsheet would run as formulas: {formulas[:3]}"
    page = (out / "downloads.html").read_text()
    assert 'href="downloads/scores.csv"' in page


def test_out_dir_that_is_not_a_site_is_never_replaced(built, tmp_path):
    from medeval.site import build_site

    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "thesis.tex").write_text("do not delete")
    with pytest.raises(MedEvalError, match="not an earlier medeval site build"):
        build_site(built["root"], keep)
    assert (keep / "thesis.tex").read_text() == "do not delete"


def test_cli_reports_a_missing_results_folder_in_one_line(tmp_path, capsys):
    from medeval import cli

    code = cli.main(["site", "build", "--results", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "nope" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("value", "shown_as"),
    [
        ("<script>alert(1)</script>", "&#60;script&#62;alert&#40;1&#41;&#60;/script&#62;"),
        ("*em* _u_ [a](b) `c` | ~ :smile:", "&#42;em&#42; &#95;u&#95; &#91;a&#93;&#40;b&#41; &#96;c&#96; &#124; &#126; &#58;smile&#58;"),
        ('" onmouseover="x', "&#34; onmouseover&#61;&#34;x"),
        (float("nan"), "&#8212;"),
        (None, "&#8212;"),
        ("", "&#8212;"),
    ],
)
def test_text_escapes_html_and_markdown(value, shown_as):
    from html import unescape

    from medeval.site.safe import text

    assert str(text(value)) == shown_as
    if isinstance(value, str) and value:
        assert unescape(str(text(value))) == value  # the browser shows exactly the original


def test_only_http_urls_become_links():
    from medeval.site.safe import json_for_script, link

    assert str(link("https://example.org/a?b=1&c=2")).startswith('<a href="https://example.org/a?b=1&amp;c=2"')
    for bad in ("javascript:alert(1)", "data:text/html,<b>x</b>", "//evil.example", "/local", "https://x.org/\"onclick=1", "ftp://x.org"):
        assert "<a " not in str(link(bad)), bad
    assert "</script>" not in str(json_for_script({"a": "</script><script>alert(1)</script>"}))
    assert json.loads(str(json_for_script({"a": "</script>&"}))) == {"a": "</script>&"}


def test_spreadsheet_safe_defuses_formulas_and_keeps_numbers():
    from medeval.site.safe import spreadsheet_safe

    df = pd.DataFrame({"model": ["=1+1", "+A1", "-2+3", "@SUM(A1)", "\tx", "org/m", None],
                       "score": [-0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    out = spreadsheet_safe(df)
    assert out["model"].tolist()[:6] == ["'=1+1", "'+A1", "'-2+3", "'@SUM(A1)", "'\tx", "org/m"]
    assert out["model"].isna().tolist()[6]
    assert out["score"].tolist() == df["score"].tolist()  # numbers, including negative ones, are untouched
    assert df["model"].tolist()[0] == "=1+1"  # the input frame is not modified


def test_404_page_and_sitemap_work_from_any_subpath(built):
    out = built["out"]
    page = (out / "404.html").read_text()
    assert "<style>" in page and 'rel="stylesheet" href="/' not in page  # Material's styles travel inside the page
    assert not re.search(r"""\s(href|src)="/(?!/)""", page)  # no root-absolute link that breaks under /project/
    assert not (out / "sitemap.xml").exists() and not (out / "sitemap.xml.gz").exists()  # no site_url: no empty sitemap


def test_bidi_controls_show_as_code_points():
    from medeval.site.safe import neutral, text

    assert neutral("rtl/\u202egnp.exe") == "rtl/[U+202E]gnp.exe"
    import html

    shown = html.unescape(str(text("a\u202eb\u2066c")))  # what the browser shows
    assert shown == "a[U+202E]b[U+2066]c"


def test_home_flags_reported_rows_apart_and_provisional_ranks(built):
    home = (built["out"] / "index.html").read_text()
    board = home.split('id="board-v1"')[1].split("</table>")[0] if 'id="board-v1"' in home else ""
    assert "reported" not in board.lower().replace("data-reported", "")  # the paper's rows are not in the ranked table
    assert 'id="reported-v1"' in home and "skyfury/CTMEDGTE-cl15-step&#95;8000" in home
    terms = home.split('id="board-terms"')[1].split("</table>")[0]
    partial = next(r for r in terms.split("<tr")[1:] if "org/partial" in r)
    assert 'class="mv-prov"' in partial  # 2 of 11 tasks: provisional


def test_page_script_borda_matches_mteb_rule():
    """The page recomputes Borda ranks for a task selection; it must agree with medeval.leaderboard.borda_rank."""
    import shutil
    import subprocess

    import numpy as np

    from medeval.leaderboard import borda_rank
    from medeval.site import ASSETS

    node = shutil.which("node")
    if node is None:
        pytest.skip("needs node to run the page script's function")
    rng = np.random.default_rng(3)
    wide = pd.DataFrame(np.round(rng.uniform(0, 1, (9, 7)), 1))  # rounded: ties on tasks
    wide.iloc[2, 3] = wide.iloc[5, 0] = np.nan
    src = (ASSETS / "leaderboard.js").read_text()
    fn = src[src.index("  function bordaRanks"):src.index("  function initFilters")]
    rows = [[None if np.isnan(x) else float(x) for x in r] for r in wide.to_numpy()]
    data = {"tasks": [[str(i)] for i in range(7)], "rows": rows}
    ids = list(range(9))
    code = fn + f"\nvar r = bordaRanks({json.dumps(data)}, {json.dumps([True] * 7)}, {json.dumps(ids)});" \
                f"console.log(JSON.stringify({json.dumps(ids)}.map(function (i) {{ return r[i]; }})));"
    out = subprocess.run([node, "-e", code], capture_output=True, text=True, timeout=30, check=True).stdout
    assert json.loads(out) == borda_rank(wide).tolist()
