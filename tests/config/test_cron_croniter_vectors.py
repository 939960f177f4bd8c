"""parse_cron agrees with croniter on croniter's own examples.

The vectors are the literal expressions in croniter's test suite as its wheel
ships it (``croniter/tests/test_croniter.py``; upstream
github.com/pallets-eco/croniter, ``src/croniter/tests/test_croniter.py``), read
with ``ast`` so nothing is copied by hand:

- every five-field expression croniter is constructed with, and the base time
  next to it: accepted by us exactly when croniter accepts it (and it ever fires),
  with the same next fire times, and ``matches`` true at each of them;
- every ``assertTrue/assertFalse(croniter.match(expr, datetime(...)))``: the same
  answer from ``Cron.matches``;
- every expression croniter's tests assert invalid: refused by us too.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib.util
from pathlib import Path

import pytest

croniter_module = pytest.importorskip("croniter")
from croniter import CroniterBadDateError, CroniterError, croniter  # noqa: E402

from mlpipex.config.cron import parse_cron  # noqa: E402

SPEC = importlib.util.find_spec("croniter")
assert SPEC is not None and SPEC.submodule_search_locations
VECTORS = Path(next(iter(SPEC.submodule_search_locations))) / "tests" / "test_croniter.py"
# Deliberate differences, each for a reason a config file has:
# - croniter's hashed `H` fields need a hash_id that a config does not carry;
# - a schedule that can never fire (`0 0 31 2 *`) is an error in mlpipex.yaml, not a silent no-op.


def _literal_datetime(node: ast.AST) -> dt.datetime | None:
    if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "datetime" \
            and all(isinstance(a, ast.Constant) and isinstance(a.value, int) for a in node.args) and not node.keywords:  # fmt: skip
        return dt.datetime(*[a.value for a in node.args])  # type: ignore[misc]
    return None


def _is_croniter(func: ast.AST) -> bool:
    return (isinstance(func, ast.Name) and func.id == "croniter") or (isinstance(func, ast.Attribute) and func.attr == "croniter")


def _five_fields(text: str) -> bool:
    return len(text.split()) == 5 and "H" not in text.upper().replace("TH", "")  # hashed fields need a hash_id


class _Bases:
    """`base = datetime(2010, 1, 25)` earlier in the same test: what a later `croniter(expr, base)` starts from."""

    def __init__(self, function: ast.AST) -> None:
        self.assigned = sorted((node.lineno, target.id, when) for node in ast.walk(function) if isinstance(node, ast.Assign)
                               for target in node.targets if isinstance(target, ast.Name)
                               and (when := _literal_datetime(node.value)) is not None)  # fmt: skip

    def value(self, node: ast.AST, line: int) -> dt.datetime | None:
        if isinstance(node, ast.Name):
            found = [when for at, name, when in self.assigned if name == node.id and at <= line]
            return found[-1] if found else None
        return _literal_datetime(node)


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) and _five_fields(node.value) else None


def vectors() -> tuple[list[tuple[str, dt.datetime]], list[tuple[str, dt.datetime, bool]], list[str]]:
    tree = ast.parse(VECTORS.read_text(encoding="utf-8"))
    built: dict[tuple[str, dt.datetime], None] = {}
    matched: dict[tuple[str, dt.datetime, bool], None] = {}
    invalid: dict[str, None] = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        bases = _Bases(function)
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            args, func = node.args, node.func
            plain = all(k.arg == "ret_type" for k in node.keywords)  # day_or=False, hash_id… change the meaning
            if _is_croniter(func) and len(args) >= 2 and plain and (expr := _text(args[0])) \
                    and (base := bases.value(args[1], node.lineno)) is not None:  # fmt: skip
                built[(expr, base)] = None
            if isinstance(func, ast.Attribute) and func.attr in ("assertTrue", "assertFalse") and args \
                    and isinstance(args[0], ast.Call) and isinstance(args[0].func, ast.Attribute) \
                    and all(k.arg == "day_or" and getattr(k.value, "value", None) is True for k in args[0].keywords):  # fmt: skip
                inner = args[0]
                if inner.args and (expr := _text(inner.args[0])):
                    if inner.func.attr == "match" and len(inner.args) == 2 and (when := bases.value(inner.args[1], node.lineno)):
                        matched[(expr, when, func.attr == "assertTrue")] = None
                    if inner.func.attr == "is_valid" and func.attr == "assertFalse" and len(inner.args) == 1:
                        invalid[expr] = None
            if isinstance(func, ast.Attribute) and func.attr == "assertRaises" and len(args) >= 3 and _is_croniter(args[1]) \
                    and (expr := _text(args[2])):  # fmt: skip
                invalid[expr] = None
        for loop in ast.walk(function):  # `for expr in ("٥ * * * *", …): self.assertFalse(croniter.is_valid(expr))`
            if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) and isinstance(loop.iter, (ast.Tuple, ast.List)) \
                    and any(_refuses(node, loop.target.id) for node in ast.walk(ast.Module(body=loop.body, type_ignores=[]))):  # fmt: skip
                invalid.update((expr, None) for item in loop.iter.elts if (expr := _text(item)))
    return list(built), list(matched), list(invalid)


def _refuses(node: ast.AST, name: str) -> bool:
    """``assertFalse(croniter.is_valid(name…))`` or ``assertRaises(…, croniter, name…)``."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    args = node.args
    if node.func.attr == "assertFalse" and args and isinstance(args[0], ast.Call) and isinstance(args[0].func, ast.Attribute):
        inner = args[0]
        return inner.func.attr == "is_valid" and bool(inner.args) and getattr(inner.args[0], "id", None) == name
    return node.func.attr == "assertRaises" and len(args) >= 3 and _is_croniter(args[1]) and getattr(args[2], "id", None) == name


BUILT, MATCHED, INVALID = vectors()


def croniter_fires(expr: str, base: dt.datetime, count: int) -> list[dt.datetime] | None:
    """croniter's answer, or None where croniter refuses the expression or it never fires."""
    try:
        it = croniter(expr, base)
        return [it.get_next(dt.datetime) for _ in range(count)]
    except (CroniterBadDateError, CroniterError, ValueError):
        return None


def test_the_vectors_are_croniters_own_and_many() -> None:
    assert VECTORS.exists(), f"croniter's wheel no longer ships its tests at {VECTORS}"
    assert len(BUILT) >= 70 and len(MATCHED) >= 8 and len(INVALID) >= 30, (len(BUILT), len(MATCHED), len(INVALID))


@pytest.mark.parametrize(("expr", "base"), BUILT, ids=[f"{e!r}@{b:%Y-%m-%d}" for e, b in BUILT])
def test_same_acceptance_and_next_fire_times(expr: str, base: dt.datetime) -> None:
    expected = croniter_fires(expr, base, 5)
    if expected is None:
        with pytest.raises(ValueError):
            parse_cron(expr)
        return
    cron = parse_cron(expr)
    assert cron.next_times(base, 5) == expected
    for fire in expected:
        assert cron.matches(fire)


@pytest.mark.parametrize(("expr", "when", "expected"), MATCHED, ids=[f"{e!r}@{w:%Y-%m-%dT%H:%M}" for e, w, _ in MATCHED])
def test_same_match_answers(expr: str, when: dt.datetime, expected: bool) -> None:
    try:
        cron = parse_cron(expr)
    except ValueError:
        assert croniter_fires(expr, dt.datetime(2000, 1, 1), 1) is None  # refused only what never fires
        return
    assert cron.matches(when) is expected


@pytest.mark.parametrize("expr", INVALID)
def test_what_croniter_refuses_we_refuse(expr: str) -> None:
    with pytest.raises(ValueError):
        parse_cron(expr)
