"""Docstring completeness of medeval's public API (issue 14), checked with ``ast`` (nothing is imported).

A public object is a function, method or class in ``medeval/`` whose name (and every enclosing class's name, and
the module's file name, ``__init__`` aside) does not start with ``_``; functions nested in functions are not
public. A public object is **complete** when, in the sentence-transformers (Google) style:

- it has a docstring;
- a function taking parameters besides ``self``/``cls`` has an ``Args:`` section naming each one
  (``name:``, ``name (type):``, or ``a, b:`` for parameters sharing one description; ``*args``/``**kwargs`` with
  or without their stars);
- a function that returns a value (return annotation other than ``None``/``NoReturn``; without an annotation, a
  ``return <value>`` in its body) has ``Returns:`` (or ``Yields:`` for a generator);
- a function whose body raises directly (``raise X``, not a bare re-raise, not ``NotImplementedError``) has
  ``Raises:`` naming each class it raises.

Properties count as attributes: a docstring is enough. ``@overload`` stubs and property setters are skipped.

``test_docstring_floor`` fails when the number of complete objects drops below ``FLOOR`` (raise ``FLOOR`` when you
document more; lower it only when a documented object is deleted, and say so in the commit). Set ``STRICT = True``
(or ``MEDEVAL_DOCSTRINGS_STRICT=1``) to require every public object to be complete. ``python
tests/test_docstrings.py [-v]`` prints the count and, with ``-v``, each incomplete object and what it lacks.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "medeval"

#: Complete public objects reached so far (see the module docstring). Baseline before issue 14: 198/644; after it
#: 746/746 (the module splits added a few public names). Every public object is complete, so STRICT is on.
FLOOR = 746
STRICT = True

_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Return|Yields|Raises|Example|Examples|Note|Notes|"
                      r"Attributes|See Also|Warning|Warnings|Todo)\s*:\s*$")
_NO_VALUE = {"None", "NoReturn", "Never"}
_NOT_DOCUMENTED_RAISES = {"NotImplementedError"}


@dataclass
class Finding:
    """One public object and what its docstring lacks (empty ``missing``: complete)."""

    where: str  # "medeval/x.py:12 Class.method"
    missing: list[str]


def _sections(doc: str) -> dict[str, str]:
    """Split a Google-style docstring into {section name: its indented body}."""
    out: dict[str, str] = {}
    current: str | None = None
    for line in doc.splitlines():
        m = _SECTION.match(line)
        if m:
            current = {"Arguments": "Args", "Parameters": "Args", "Return": "Returns"}.get(m.group(1), m.group(1))
            out.setdefault(current, "")
            continue
        if current is not None:
            if line.strip() and not line.startswith((" ", "\t")):
                # an unindented line ends the section (ast.get_docstring dedents the docstring)
                current = None
                continue
            out[current] += line + "\n"
    return out


def _names_param(args_body: str, name: str) -> bool:
    """Whether an entry of the Args body names ``name``: ``name:``, ``name (type):`` or ``a, name, b:``."""
    one = rf"\**\w+\s*(?:\([^)]*\))?"
    for m in re.finditer(rf"^\s*({one}(?:\s*,\s*{one})*)\s*:", args_body, re.MULTILINE):
        names = [re.sub(r"\s*\(.*", "", n).strip().lstrip("*") for n in m.group(1).split(",")]
        if name in names:
            return True
    return False


def _own_nodes(fn: ast.AST):
    """Walk a function's body without descending into nested functions, lambdas or classes."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _exc_name(exc: ast.expr) -> str | None:
    if isinstance(exc, ast.Call):
        exc = exc.func
    if isinstance(exc, ast.Attribute):
        return exc.attr
    if isinstance(exc, ast.Name):
        return exc.id
    return None


def _raised(fn: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in _own_nodes(fn):
        if isinstance(node, ast.Raise) and node.exc is not None:
            name = _exc_name(node.exc)
            if name is None:  # raise some_variable: an exception built elsewhere
                names.add("?")
            elif name not in _NOT_DOCUMENTED_RAISES:
                names.add(name)
    return names


def _returns_value(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if fn.returns is not None:
        text = ast.unparse(fn.returns).strip("'\"")
        return text not in _NO_VALUE and not text.endswith((".NoReturn", ".Never"))
    for node in _own_nodes(fn):
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                return True
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
    return False


def _decorators(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    out = set()
    for dec in fn.decorator_list:
        out.add(ast.unparse(dec.func if isinstance(dec, ast.Call) else dec))
    return out


def check_function(fn: ast.FunctionDef | ast.AsyncFunctionDef, *, is_method: bool) -> list[str] | None:
    """What ``fn``'s docstring lacks; None when ``fn`` is not checked (overload stub, property setter)."""
    decorators = _decorators(fn)
    if any(d in ("overload", "typing.overload") or d.endswith((".setter", ".deleter")) for d in decorators):
        return None
    doc = ast.get_docstring(fn)
    if not doc:
        return ["docstring"]
    if decorators & {"property", "functools.cached_property", "cached_property"}:
        return []
    missing: list[str] = []
    sections = _sections(doc)
    a = fn.args
    params = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    if is_method and params and params[0] in ("self", "cls") and "staticmethod" not in decorators:
        params = params[1:]
    if a.vararg:
        params.append(a.vararg.arg)
    if a.kwarg:
        params.append(a.kwarg.arg)
    if params:
        body = sections.get("Args")
        if body is None:
            missing.append("Args")
        else:
            missing += [f"Args.{p}" for p in params if not _names_param(body, p)]
    if fn.name != "__init__" and _returns_value(fn) and "Returns" not in sections and "Yields" not in sections:
        missing.append("Returns")
    raised = _raised(fn)
    if raised:
        body = sections.get("Raises")
        if body is None:
            missing.append("Raises")
        else:
            missing += [f"Raises.{n}" for n in sorted(raised - {"?"}) if not re.search(rf"\b{n}\b", body)]
    return missing


def check_source(source: str, label: str = "<string>") -> list[Finding]:
    """Check every public function, method and class of one module's source text."""
    tree = ast.parse(source)
    findings: list[Finding] = []

    def visit(body: list[ast.stmt], prefix: str, in_class: bool) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("_"):
                    continue
                missing = check_function(node, is_method=in_class)
                if missing is not None:
                    findings.append(Finding(f"{label}:{node.lineno} {prefix}{node.name}", missing))
            elif isinstance(node, ast.ClassDef):
                if node.name.startswith("_"):
                    continue
                missing = [] if ast.get_docstring(node) else ["docstring"]
                findings.append(Finding(f"{label}:{node.lineno} {prefix}{node.name}", missing))
                visit(node.body, f"{prefix}{node.name}.", True)
            elif isinstance(node, (ast.If, ast.Try)):  # definitions under `if TYPE_CHECKING:` / try-import
                visit(node.body, prefix, in_class)
                for extra in (getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                    visit(extra, prefix, in_class)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body, prefix, in_class)

    visit(tree.body, "", False)
    return findings


def check_package(root: Path = PACKAGE) -> list[Finding]:
    """Check every public module under ``root`` (skipping private modules, test files and __main__)."""
    findings: list[Finding] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        if any(part.startswith("_") and part != "__init__.py" for part in rel.parts):
            continue
        if path.name.startswith("test_"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:  # moved away while we walked (git mv in another checkout user's work)
            continue
        findings += check_source(text, rel.as_posix())
    return findings


def summary(findings: list[Finding]) -> str:
    done = sum(1 for f in findings if not f.missing)
    return f"{done}/{len(findings)} complete"


# ---------------------------------------------------------------- the checker's own tests

GOOD = '''
def add(a: int, b: int = 1) -> int:
    """Add two integers.

    Args:
        a: first.
        b (int): second.

    Returns:
        The sum.

    Raises:
        ValueError: if ``a`` is negative.
    """
    if a < 0:
        raise ValueError("negative")
    return a + b
'''


def _missing(src: str) -> list[str]:
    (finding,) = check_source(src)
    return finding.missing


def test_complete_function_passes() -> None:
    assert _missing(GOOD) == []


def test_missing_docstring_args_returns_raises_are_found() -> None:
    assert _missing("def f(x):\n    return x\n") == ["docstring"]
    no_args = GOOD.replace("    Args:\n        a: first.\n        b (int): second.\n\n", "")
    assert _missing(no_args) == ["Args"]
    assert _missing(GOOD.replace("        b (int): second.\n", "")) == ["Args.b"]
    assert _missing(GOOD.replace("        a: first.\n        b (int): second.\n", "        a, b: the two.\n")) == []
    assert _missing(GOOD.replace("        a: first.\n        b (int): second.\n", "        a, c: the two.\n")) == [
        "Args.b"
    ]
    assert _missing(GOOD.replace("    Returns:\n        The sum.\n\n", "")) == ["Returns"]
    assert _missing(GOOD.replace("        ValueError: if ``a`` is negative.\n", "        TypeError: x\n")) == [
        "Raises.ValueError"
    ]


def test_methods_private_names_and_nested_functions() -> None:
    src = '''
class _Hidden:
    def visible(self, x): return x

class Shown:
    """A class."""

    def __init__(self, x): self.x = x

    @property
    def size(self) -> int:
        """The size."""
        return 1

    def method(self, *items, **options) -> None:
        """Do it.

        Args:
            *items: things.
            options: settings.
        """
        def inner(y): return y
        raise
'''
    found = {f.where.split()[-1]: f.missing for f in check_source(src)}
    assert found == {"Shown": [], "Shown.size": [], "Shown.method": []}


def test_unannotated_return_and_raise_variable() -> None:
    assert _missing('def f():\n    """Doc."""\n    return 1\n') == ["Returns"]
    assert _missing('def f():\n    """Doc."""\n    return None\n') == []
    assert _missing('def f(e):\n    """Doc.\n\n    Args:\n        e: it.\n    """\n    raise e\n') == ["Raises"]


def test_docstring_floor() -> None:
    """The number of complete public objects never falls below FLOOR (strict: all of them)."""
    findings = check_package()
    print(summary(findings))
    incomplete = [f"{f.where}: {', '.join(f.missing)}" for f in findings if f.missing]
    if STRICT or os.environ.get("MEDEVAL_DOCSTRINGS_STRICT") == "1":
        assert not incomplete, "incomplete docstrings:\n" + "\n".join(incomplete)
    done = len(findings) - len(incomplete)
    assert done >= FLOOR, (
        f"{summary(findings)}: fewer than the floor of {FLOOR}; a docstring lost its Args/Returns/Raises? "
        "Run `python tests/test_docstrings.py -v` for the list."
    )


# ---------------------------------------------------------------- the examples run

#: Docstrings whose ``>>>`` examples are exact and side-effect free (no model, no network, no writes): they are run
#: here so an example that stops being true fails a test. Examples that need a model, a built task or write files
#: stay illustrative (``# doctest: +SKIP`` or not listed).
RUNNABLE_EXAMPLES = (
    "medeval.leaderboard.stats",
    "medeval.leaderboard.stats.bootstrap_ci",
    "medeval.leaderboard.stats.paired_difference",
    "medeval.leaderboard.stats.tie_groups",
    "medeval.leaderboard.stats.at_chance",
    "medeval.leaderboard.stats.normalise_to_chance",
    "medeval.leaderboard.aggregate.coverage_label",
    "medeval.training.config",
    "medeval.training.config.parse_config",
    "medeval.training.config.load_config",
    "medeval.training.leakage.normalize",
    "medeval.training.leakage.digest",
    "medeval.training.pairs",
    "medeval.training.pairs.clean_pairs",
    "medeval.training.pairs.collapse_whitespace",
    "medeval.batching.is_out_of_memory",
    "medeval.batching.call_with_batch_backoff",
    "medeval.batching.parse_devices",
    "medeval.batching.dedup",
    "medeval.batching.to_numpy",
    "medeval.llm_client.template_fields",
    "medeval.llm_client.render",
    "medeval.data.content_hash",
    "medeval.data.describe",
    "medeval.manifest.content_sha",
    "medeval.manifest.record",
    "medeval.manifest.compare_records",
    "medeval.fsutil.is_temp_file",
    "medeval.train.default_output",
    "medeval.identity",
    "medeval.identity.canonical",
    "medeval.identity.mteb_minor",
    "medeval.identity.protocol_fingerprint",
    "medeval.vectors",
    "medeval.progress",
    "medeval.clustering",
    "medeval.option_pairs",
    "medeval.lexical",
    "medeval.leaderboard",  # these three read the committed leaderboard/ folder
    "medeval.leaderboard.load",
    "medeval.leaderboard.aggregate",
)


def _resolve(dotted: str) -> tuple[object, dict[str, object]]:
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        obj: object = module
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj, dict(vars(module))
    raise ModuleNotFoundError(dotted)


def test_listed_examples_are_true(monkeypatch) -> None:
    """Every example in RUNNABLE_EXAMPLES runs and prints what its docstring says."""
    import doctest

    monkeypatch.chdir(PACKAGE.parent)  # examples name repository files (configs/medte-mini.yaml)
    failed: list[str] = []
    for dotted in RUNNABLE_EXAMPLES:
        obj, globs = _resolve(dotted)
        tests = [t for t in doctest.DocTestFinder(recurse=False).find(obj, dotted, globs=globs) if t.examples]
        assert tests, f"{dotted}: no >>> example to run; drop it from RUNNABLE_EXAMPLES"
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        for t in tests:
            result = runner.run(t, out=lambda text: failed.append(text))
            assert result.attempted > 0
    assert not failed, "".join(failed)


if __name__ == "__main__":
    all_findings = check_package()
    if "-v" in sys.argv:
        for f in all_findings:
            if f.missing:
                print(f"{f.where}: {', '.join(f.missing)}")
    print(summary(all_findings))
