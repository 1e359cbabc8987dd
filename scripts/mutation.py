#!/usr/bin/env python3
"""Mutation testing of izde's safeguards: break the code on purpose, one small change at a time, and check
that the tests notice.

    .venv/bin/python scripts/mutation.py                     # every target, seeded sample, ~30-40 min on 2 cores
    .venv/bin/python scripts/mutation.py --only review.py    # targets whose path contains 'review.py'
    .venv/bin/python scripts/mutation.py --list              # the mutants, without running anything
    .venv/bin/python scripts/mutation.py --issue             # the hand-written mutants of the testing issue
    .venv/bin/python scripts/mutation.py --out docs/testing/mutation.txt

The working tree is copied (tracked and untracked, not ignored, files) to a temporary folder once; each
mutant rewrites one file of the copy, runs that module's tests there with the current interpreter (so the
copy's ``izde`` is imported, not the installed one), and puts the file back. A mutant is killed when a test
fails or the run exceeds its time cap (a mutant that loops forever is caught too); it survives when every
test passes. Mutants are made from the syntax tree, so the same tree gives the same mutants; ``--max`` samples
each target with a fixed seed.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAST = ["-p", "no:cacheprovider", "-x", "-q", "--no-header", "-rfE"]
NO_PG = ["-k", "not postgres"]  # each safeguard runs the same on both databases; one is enough per mutant


@dataclass(frozen=True)
class Target:
    path: str
    tests: tuple[str, ...]
    functions: frozenset[str] | None = None  # only these functions or methods (None: the whole module)
    args: tuple[str, ...] = ()
    share: float = 1.0  # of --max: the video targets' tests take ~10x longer per mutant, so they get fewer


POLICY = "tests/governance/test_policy_tables.py"
AUDIT = "tests/governance/test_audit_verify.py"
TARGETS = [
    Target("izde/governance/review.py", (POLICY,)),
    Target("izde/governance/authorisations.py", (POLICY, "tests/archive/test_search_scope.py")),
    Target("izde/governance/roles.py", (POLICY, "tests/governance/test_permission_matrix.py")),
    Target("izde/governance/risk.py", ("tests/governance/test_risk.py",)),
    Target("izde/governance/audit.py", ("tests/governance/test_audit_key.py", AUDIT), args=tuple(NO_PG)),
    Target("izde/governance/audit_verify.py", (AUDIT,), args=tuple(NO_PG)),
    Target("izde/governance/audit_head.py", (AUDIT,), args=tuple(NO_PG)),
    Target("izde/governance/admins.py", (POLICY, "tests/governance/test_admins.py"), args=tuple(NO_PG)),
    Target("izde/governance/login_limit.py", ("tests/governance/test_login_limit.py",), args=tuple(NO_PG)),
    Target(
        "izde/service/watchlist.py",
        (POLICY, "tests/governance/test_four_eyes.py"),
        frozenset({"four_eyes", "approve", "reject", "add_photos"}),
    ),
    Target("izde/service/alerts.py", ("tests/governance/test_alert_review.py",), frozenset({"review"})),
    Target(
        "izde/service/authorisations.py",
        ("tests/governance/test_four_eyes.py", "tests/governance/test_session_scope.py"),
        frozenset({"decide_authorisation"}),
        ("-k", "grant or reject"),
    ),
    Target(
        "izde/service/settings.py",
        ("tests/governance/test_four_eyes.py",),
        frozenset({"decide_threshold"}),
        ("-k", "threshold"),
    ),
    Target("izde/pipeline/watcher.py", ("tests/pipeline/test_watcher.py",), share=0.5),
    Target("izde/pipeline/tracks.py", ("tests/pipeline/test_tracks.py", "tests/pipeline/test_watcher.py"), share=0.4),
]


# -- making mutants --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    operator: str
    replacement: str
    original: str

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}:{self.col} {self.operator}"

    def describe(self) -> str:
        return f"{self.id}: {self.original.strip()!r} -> {self.replacement.strip()!r}"

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line.encode()))
        data = source.encode()
        start = offsets[self.line - 1] + self.col
        end = offsets[self.end_line - 1] + self.end_col
        return (data[:start] + self.replacement.encode() + data[end:]).decode()


FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
BOUNDARY: dict[type[ast.cmpop], type[ast.cmpop]] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
ARITH: dict[type[ast.operator], type[ast.operator]] = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div}
DROPPABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.Continue, ast.Break, ast.Delete)


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_logging(node: ast.AST) -> bool:
    call = node.value if isinstance(node, ast.Expr) else node
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id in {"log", "logger", "logging"}
    )


class _Finder(ast.NodeVisitor):
    """Collects mutation sites inside the chosen functions (or everywhere)."""

    def __init__(self, path: str, source: str, functions: frozenset[str] | None) -> None:
        self.path, self.source, self.functions = path, source, functions
        self.stack: list[str] = []
        self.out: list[Mutant] = []
        self.in_annotation = 0
        self.in_function = 0

    def _active(self) -> bool:
        if not self.in_function:
            return False  # class bodies are declarations (enum members, fields): their tests are import errors
        if self.functions is None:
            return True
        return any(name in self.functions or ".".join(self.stack[: i + 1]) in self.functions
                   for i, name in enumerate(self.stack))  # fmt: skip

    def _add(self, node: ast.AST, operator: str, replacement: str) -> None:
        original = ast.get_source_segment(self.source, node) or ""
        assert node.end_lineno is not None and node.end_col_offset is not None
        self.out.append(
            Mutant(
                self.path,
                node.lineno,  # type: ignore[attr-defined]
                node.col_offset,  # type: ignore[attr-defined]
                node.end_lineno,
                node.end_col_offset,
                operator,
                replacement,
                original,
            )
        )

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.stack.append(node.name)
        body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
        function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        self.in_function += function
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self.in_annotation += 1
            for a in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
                if a.annotation is not None:
                    self.visit(a.annotation)
            self.in_annotation -= 1
            for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]:
                self.visit(default)
        self._statements(body)
        self.in_function -= function
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped  # noqa: N815

    def _statements(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if self._active() and isinstance(stmt, DROPPABLE) and not _is_docstring(stmt) and not _is_logging(stmt):
                self._add(stmt, "drop-statement", "pass")
            returns = isinstance(stmt, ast.Return) and stmt.value is not None
            if self._active() and returns and ast.unparse(stmt) != "return None":
                self._add(stmt, "return-none", "return None")
            self.visit(stmt)

    def generic_visit(self, node: ast.AST) -> None:
        for field_name, value in ast.iter_fields(node):
            if field_name == "annotation":
                self.in_annotation += 1
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self._statements(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)
            if field_name == "annotation":
                self.in_annotation -= 1

    def visit_Module(self, node: ast.Module) -> None:
        body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
        # Module level: only functions and classes are mutated (constants and tables are data, tested as such).
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.visit(stmt)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return  # messages: changing their text is not a safeguard mutation

    def visit_Expr(self, node: ast.Expr) -> None:
        if not _is_logging(node):
            self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if self._active() and not self.in_annotation:
            for i, op in enumerate(node.ops):
                for table, name in ((FLIP, "flip-compare"), (BOUNDARY, "boundary")):
                    new = table.get(type(op))
                    if new is not None:
                        ops = list(node.ops)
                        ops[i] = new()
                        self._add(node, name, "(" + ast.unparse(ast.Compare(node.left, ops, node.comparators)) + ")")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        if self._active() and not self.in_annotation:
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            self._add(node, "swap-and-or", "(" + ast.unparse(ast.BoolOp(other, node.values)) + ")")
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if self._active() and isinstance(node.op, ast.Not):
            self._add(node, "drop-not", "(" + ast.unparse(node.operand) + ")")
        self.generic_visit(node)

    def _negate_test(self, test: ast.expr) -> None:
        if self._active() and not isinstance(test, ast.Compare | ast.BoolOp | ast.UnaryOp):
            self._add(test, "negate-condition", "(not (" + ast.unparse(test) + "))")

    def visit_If(self, node: ast.If) -> None:
        self._negate_test(node.test)
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._negate_test(node.test)
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self._negate_test(node.test)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        new = ARITH.get(type(node.op))
        if self._active() and new is not None and not self.in_annotation:
            self._add(node, "arithmetic", "(" + ast.unparse(ast.BinOp(node.left, new(), node.right)) + ")")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not self._active() or self.in_annotation:
            return
        v = node.value
        if isinstance(v, bool):
            self._add(node, "constant", repr(not v))
        elif isinstance(v, int | float) and not isinstance(v, bool):
            self._add(node, "constant", repr(v + 1) if v != 1 else "0")


def mutants_of(target: Target, root: Path) -> list[Mutant]:
    source = (root / target.path).read_text(encoding="utf-8")
    finder = _Finder(target.path, source, target.functions)
    finder.visit(ast.parse(source))
    seen: dict[tuple[int, int, int, int, str], Mutant] = {}
    for m in finder.out:
        try:
            ast.parse(m.apply(source))
        except SyntaxError:
            continue  # e.g. 'pass' in place of the only statement of an expression context
        seen.setdefault((m.line, m.col, m.end_line, m.end_col, m.replacement), m)
    return sorted(seen.values(), key=lambda m: (m.line, m.col, m.operator, m.replacement))


# -- the hand-written mutants of the testing issue -------------------------------------------------------------


@dataclass(frozen=True)
class Manual:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    args: tuple[str, ...] = ()


ISSUE = [
    Manual(
        "crop of every passer-by into the system temp folder",
        "izde/pipeline/watcher.py",
        "            if track.offer(shot, self.cfg.best_shots):",
        "            import tempfile as _t; from pathlib import Path as _P\n"
        "            _P(_t.mkstemp(suffix='.jpg')[1]).write_bytes(encode_jpeg(shot.crop))\n"
        "            if track.offer(shot, self.cfg.best_shots):",
        ("tests/cli/test_watch_cli.py",),
        ("-k", "crowd"),
    ),
    Manual(
        "unmatched descriptors (base64) into audit rows",
        "izde/service/watching.py",
        "        self._apply_retention(as_system=True)",
        "        self._apply_retention(as_system=True)\n"
        "        import base64 as _b\n"
        "        _embed = self.stack.embedder.embed\n"
        "        def _leak(chips, _e=_embed):\n"
        "            out = _e(chips)\n"
        "            with self.db.session() as s:\n"
        "                d = [_b.b64encode(x.tobytes()).decode() for x in out]\n"
        "                self.audit(s, 'watch.debug', 'run', None, d=d)\n"
        "            return out\n"
        "        object.__setattr__(self.stack.embedder, 'embed', _leak)",
        ("tests/cli/test_watch_cli.py",),
        ("-k", "crowd"),
    ),
    Manual(
        "whoever added photos may approve alone",
        "izde/service/watchlist.py",
        "p.status, p.proposed_by, p.approved_by, p.approved_at = PROPOSED, actor.user_id, None, None",
        "p.status, p.approved_by, p.approved_at = PROPOSED, None, None",
        ("tests/governance/test_four_eyes.py",),
        ("-k", "new_photos"),
    ),
    Manual(
        "the row's time is not in the keyed hash",
        "izde/governance/audit.py",
        '            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),\n',
        "",
        (AUDIT,),
        ("-k", "edited"),
    ),
    Manual(
        "truncation detection disabled",
        "izde/pipeline/sources.py",
        "            elif self.frame_count and self.stats.frames_read < 0.98 * expected - 1:",
        "            elif False:",
        ("tests/cli/test_watch_cli.py",),
        ("-k", "truncated"),
    ),
    Manual(
        "no cooldown between alerts",
        "izde/pipeline/watcher.py",
        "            if last is not None and shot.position_s - last < self.cfg.cooldown_s:",
        "            if False:",
        ("tests/pipeline/test_watcher.py", "tests/cli/test_watch_cli.py"),
        ("-k", "once or cooldown"),
    ),
]


# -- running ---------------------------------------------------------------------------------------------------


def copy_tree(dst: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        src = ROOT / name
        if src.is_file() and not name.startswith(("docs/", "test-artifacts/")):
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    data = Path(os.environ.get("IZDE_DATA", ROOT.parent / "shared" / "data")).resolve()
    env.update(
        PYTHONPATH=str(copy),
        PYTHONDONTWRITEBYTECODE="1",  # a mutant never runs from a stale cached compile, nor leaves one
        IZDE_DATA=str(data),
        OPENCV_LOG_LEVEL="ERROR",
        TMPDIR=str(copy / ".tmp"),
    )
    env.pop("CI", None)  # a missing PostgreSQL skips here: the mutants are run on SQLite
    return env


@dataclass
class Outcome:
    status: str  # killed, survived, timeout, error
    seconds: float
    failed: str = ""


# Third-party modules the tests import, loaded once here so that each forked test run starts in about a second
# instead of ten. izde and the tests themselves are never imported here: each run imports the mutated copy.
PRELOAD = (
    "numpy", "cv2", "dlib", "av", "sqlalchemy", "sqlalchemy.orm", "alembic", "pydantic", "pydantic_settings",
    "yaml", "typer", "typer.testing", "rich", "argon2", "cryptography", "fastapi", "starlette", "httpx",
    "faiss", "onnxruntime", "psycopg", "jinja2", "pytest", "hypothesis", "_hypothesis_pytestplugin",
    "schemathesis", "schemathesis.pytest", "playwright.sync_api",
)  # fmt: skip


def preload() -> None:
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    assert not any(m == "izde" or m.startswith(("izde.", "tests.")) for m in sys.modules), "izde preloaded"


def _forked_pytest(copy: Path, argv: list[str], out: Path) -> int:
    """In a forked child: run pytest in the copy with output to ``out``; returns the child's pid."""
    pid = os.fork()
    if pid:
        return pid
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.setsid()
        os.chdir(copy)
        env = environment(copy)  # before the clear: it reads IZDE_DATA from this environment
        os.environ.clear()
        os.environ.update(env)
        sys.path.insert(0, str(copy))
        sys.dont_write_bytecode = True
        import pytest

        code = int(pytest.main(argv))
    except BaseException:  # the child must never return into the parent's code
        import traceback

        traceback.print_exc()
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_tests(copy: Path, tests: tuple[str, ...], args: tuple[str, ...], cap: float) -> Outcome:
    argv = [*FAST, *args, *tests]
    out = copy / ".tmp" / "pytest.out"
    start = time.monotonic()
    if FORK:
        pid = _forked_pytest(copy, argv, out)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - start > cap:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return Outcome("timeout", time.monotonic() - start)
            time.sleep(0.05)
    else:
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pytest", *argv],
                cwd=copy,
                env=environment(copy),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = proc.wait(timeout=cap)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return Outcome("timeout", time.monotonic() - start)
    took = time.monotonic() - start
    text = out.read_text(errors="replace")
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", text, re.MULTILINE)
    if code == 0:
        return Outcome("survived", took)
    if code == 1 or failed:
        return Outcome("killed", took, failed[0] if failed else text.strip().splitlines()[-1])
    return Outcome("error", took, text[-2000:])


FORK = hasattr(os, "fork")


def check_import(copy: Path) -> None:
    """The tests must import the copy's izde (the one being mutated), never the installed one."""
    out = subprocess.run(
        [sys.executable, "-c", "import izde; print(izde.__file__)"],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(out).resolve().is_relative_to(copy.resolve()):
        sys.exit(f"mutation: the tests would import {out}, not the copy in {copy}; run from a virtual environment")


def restore(path: Path, original: str, stat: os.stat_result) -> None:
    path.write_text(original, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@dataclass
class Result:
    target: Target
    mutants: int
    killed: int
    timeouts: int
    survivors: list[Mutant]
    errors: list[tuple[Mutant, str]]
    seconds: float


def run_target(
    copy: Path, target: Target, sample: int | None, seed: int, log: Log, match: str | None = None
) -> Result | None:
    path = copy / target.path
    original = path.read_text(encoding="utf-8")
    stat = path.stat()
    mutants = mutants_of(target, copy)
    if sample is not None and len(mutants) > round(sample * target.share):
        chosen = random.Random(f"{seed}:{target.path}").sample(mutants, round(sample * target.share))
        mutants = sorted(chosen, key=lambda m: (m.line, m.col, m.operator))
    if match:
        mutants = [m for m in mutants if match in m.describe()]
    start = time.monotonic()
    baseline = run_tests(copy, target.tests, target.args, cap=900)
    if baseline.status != "survived":
        log(f"{target.path}: its tests fail without any mutant ({baseline.failed}); skipped")
        return None
    cap = max(30.0, 3 * baseline.seconds + 15)
    killed = timeouts = 0
    survivors: list[Mutant] = []
    errors: list[tuple[Mutant, str]] = []
    log(f"{target.path}: {len(mutants)} mutants, tests {baseline.seconds:.0f} s unmutated, cap {cap:.0f} s")
    try:
        for i, m in enumerate(mutants, 1):
            path.write_text(m.apply(original), encoding="utf-8")
            o = run_tests(copy, target.tests, target.args, cap)
            restore(path, original, stat)
            if o.status == "killed":
                killed += 1
            elif o.status == "timeout":
                killed += 1
                timeouts += 1
            elif o.status == "survived":
                survivors.append(m)
            else:
                errors.append((m, o.failed))
            log(f"  [{i}/{len(mutants)}] {o.status:8} {o.seconds:5.1f} s  {m.describe()}", quiet=True)
    finally:
        restore(path, original, stat)
    return Result(target, len(mutants), killed, timeouts, survivors, errors, time.monotonic() - start)


class Log:
    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.lines: list[str] = []

    def __call__(self, line: str, quiet: bool = False) -> None:
        if self.verbose or not quiet:
            print(line, flush=True)


def summary(results: list[Result], seconds: float, args: argparse.Namespace) -> Iterator[str]:
    yield f"# izde mutation testing: python scripts/mutation.py --max {args.max} --seed {args.seed}"
    yield f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, {seconds / 60:.1f} min"
    yield ""
    for r in results:
        extra = f" ({r.timeouts} by timeout)" if r.timeouts else ""
        yield f"{r.target.path:36} killed {r.killed:3} of {r.mutants:3}{extra}  [{r.seconds / 60:4.1f} min]"
    k, n = sum(r.killed for r in results), sum(r.mutants for r in results)
    yield ""
    yield f"killed {k} of {n} ({100 * k / max(n, 1):.1f}%) in {seconds / 60:.1f} min"
    survivors = [(r.target, m) for r in results for m in r.survivors]
    errors = [(r.target, m, e) for r in results for m, e in r.errors]
    if survivors:
        yield ""
        yield "surviving mutants:"
        yield from (f"  {m.describe()}" for _, m in survivors)
    if errors:
        yield ""
        yield "mutants whose test run broke (not counted as killed):"
        yield from (f"  {m.describe()}: {e.splitlines()[-1] if e else ''}" for _, m, e in errors)


def run_issue(copy: Path, log: Log, match: str | None = None) -> int:
    missed = 0
    for m in ISSUE:
        if match and match not in m.name:
            continue
        path = copy / m.path
        original = path.read_text(encoding="utf-8")
        stat = path.stat()
        if original.count(m.old) != 1:
            log(f"{m.name}: does not apply to {m.path} any more (the code changed); update scripts/mutation.py")
            missed += 1
            continue
        try:
            path.write_text(original.replace(m.old, m.new), encoding="utf-8")
            o = run_tests(copy, m.tests, m.args, cap=900)
        finally:
            restore(path, original, stat)
        log(f"{m.name:55} {o.status:8} {o.seconds:5.1f} s  {o.failed if o.status == 'killed' else ''}")
        missed += o.status != "killed"
    return missed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", default=[], help="targets whose path contains this (repeatable)")
    p.add_argument("--max", type=int, default=14, help="mutants per target at most, sampled with --seed (0: all)")
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--list", action="store_true", help="print the mutants and stop")
    p.add_argument("--issue", action="store_true", help="run the testing issue's hand-written mutants")
    p.add_argument("--out", type=Path, help="also write the summary to this file")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per mutant")
    p.add_argument("--match", help="only the mutants whose description contains this, e.g. 'roles.py:131:24'")
    p.add_argument("--no-fork", action="store_true", help="a new interpreter per test run (slower)")
    args = p.parse_args()
    global FORK
    FORK = FORK and not args.no_fork
    targets = [t for t in TARGETS if not args.only or any(o in t.path for o in args.only)]
    if args.list:
        for t in targets:
            for m in mutants_of(t, ROOT):
                print(m.describe())
        return 0
    log = Log(args.verbose)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="izde-mutation-") as tmp:
        copy = Path(tmp) / "izde"
        copy_tree(copy)
        (copy / ".tmp").mkdir()
        # Compiled once: each run then compiles only the mutated file (its source no longer matches), writing
        # nothing; the original is put back with its old mtime, so its compiled form is valid again.
        import compileall

        compileall.compile_dir(copy, quiet=2, workers=1)
        check_import(copy)
        if FORK:
            preload()
        if args.issue:
            return 1 if run_issue(copy, log, args.match) else 0
        results = [
            r for t in targets if (r := run_target(copy, t, args.max or None, args.seed, log, args.match)) is not None
        ]
    lines = list(summary(results, time.monotonic() - started, args))
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
