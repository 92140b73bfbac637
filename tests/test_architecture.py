"""The house rules of the code base (issue 15), read from the source.

Layers, top to bottom: handlers/ (the conversation) may import bot/ and db/; bot/ (the core:
App, services, delivery, routing) may import db/; db/ imports nothing of ours. Only the
launcher, bot/__main__.py, reaches up to handlers/ to hand their routers to the factory.

Today's exceptions are listed below, one a line, each with the work package that removes it
(plan-15 §9). The lists only shrink: an entry that no longer applies fails its test too, so
the package that fixes it deletes its own line and nobody else's.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("handlers", "bot", "db")  # top to bottom
LAUNCHERS = {"bot.__main__"}  # a script nobody imports
MAX_LINES = 500
MAX_COMPLEXITY = 15
INTERNALS = "bot/aiogram_internals.py"
SQLITE_DRIVER = "db/inline_sqlite.py"
STALE_TEXT = "This button is no longer active."

# --- today's exceptions, by the work package that removes them ------------------------------

CIRCLES = {
}
UPWARD: dict[str, str] = {
}
SERVICES_IMPORT: dict[str, str] = {  # bot/services importing what they must not (R3)
}
NEEDS_AIOGRAM: dict[str, str] = {  # modules that must import without aiogram (R5)
}
IMPORTLIB: dict[str, str] = {}
SIZE = {
}
COMPLEXITY = {
}
PRIVATE_API: dict[str, str] = {  # aiogram or SQLAlchemy internals outside their one module (R9)
}
EXCEPT_DOMAIN_ERROR = {  # file: (WP, `except DomainError` blocks left); the error handler answers
    # W2-1
    "handlers/challenges/browse.py": ("W2-1", 1),
    "handlers/challenges/jury.py": ("W2-1", 1),
    "handlers/challenges/review.py": ("W2-1", 1),
    "handlers/challenges/setup.py": ("W2-1", 1),
    "handlers/challenges/wizard.py": ("W2-1", 1),
}
APP_UNTYPED = {  # file: (WP, `app` parameters typed Any or object)
}
APP_PARAMETERS = {  # file: (WP, functions taking `app`): they name what they use instead
    # W2-1
    "handlers/challenges/browse.py": ("W2-1", 3),  # /my: my_webinars_text takes the app
}
I18N_T = {  # file: (WP, calls of i18n.t); one translator (bot.translator) replaces it
}
STALE_ANSWERS = {  # file: (WP, hand-written "no longer active"); StaleButton answers it
}


# --- reading the source ------------------------------------------------------------------------

@cache
def modules() -> dict[str, Path]:
    """Every module of LAYERS by dotted name (a package by its own name); migrations excluded."""
    found: dict[str, Path] = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:3] == ("db", "migrations", "versions"):
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _resolve(name: str, node: ast.ImportFrom | None, module: str, path: Path) -> str:
    if node is None or not node.level:
        return name
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join([*base, name] if name else base)


@cache
def imports() -> dict[str, dict[str, int]]:
    """module -> {project module it imports: line}; module-level, lazy and TYPE_CHECKING
    imports all count; `from a import b` counts a.b when that is a module."""
    mods = modules()
    graph: dict[str, dict[str, int]] = {}
    for module, path in mods.items():
        edges: dict[str, int] = {}
        for node in ast.walk(tree(path)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node.module or "", node, module, path)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]
            for target in targets:
                while target and target not in mods:  # `import a.b.c` of a package's name
                    target = target.rpartition(".")[0]
                if target and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, {}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def functions(path: Path) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(qualified name, node) of every function and method, nested ones too."""
    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    yield name, child
                yield from walk(child, f"{name}.")
            else:
                yield from walk(child, prefix)
    yield from walk(tree(path), "")  # type: ignore[misc]


def cc(fn: ast.AST) -> int:
    """Cyclomatic complexity as lizard and radon count it: boolean operands and
    comprehension clauses too (ruff's C901 counts fewer; both are enforced)."""
    n = 1
    for node in ast.walk(fn):
        if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.IfExp,
                             ast.ExceptHandler, ast.Assert)):
            n += 1
        elif isinstance(node, ast.BoolOp):
            n += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            n += 1 + len(node.ifs)
        elif isinstance(node, ast.match_case):
            n += 1
    return n


def per_file(count) -> dict[str, int]:
    """{file: n} of the files where `count(tree)` is not 0."""
    found = {rel(path): count(tree(path)) for path in modules().values()}
    return {name: n for name, n in found.items() if n}


def expect(found: dict[str, object], allowed: dict[str, object], rule: str) -> None:
    """`found` holds exactly the allowed entries; a ("WP", n) entry allows at most n."""
    new = {k: v for k, v in found.items() if k not in allowed}
    assert not new, f"{rule}: new violations {new}"
    gone = sorted(k for k in allowed if k not in found)
    assert not gone, f"{rule}: fixed, delete these lines from the allowlist: {gone}"
    over = {k: (found[k], v[1]) for k, v in allowed.items()
            if isinstance(v, tuple) and found[k] > v[1]}  # type: ignore[operator]
    assert not over, f"{rule}: more than allowed (found, allowed): {over}"


# --- the rules ---------------------------------------------------------------------------------

def test_r1_no_import_circles():
    found = {" ".join(c): "" for c in circles(imports())}
    expect(found, CIRCLES, "R1 import circles")


def test_r2_no_import_goes_up_a_layer():
    found = {f"{source} -> {target}": line for source, edges in imports().items()
             for target, line in edges.items()
             if layer(target) < layer(source) and source not in LAUNCHERS}
    expect(found, UPWARD, "R2 upward imports")


def test_the_graph_reader_sees_the_launcher_compose_the_bot():
    """A check that cannot see the one allowed upward import would pass on anything."""
    assert "handlers" in imports()["bot.__main__"]
    assert "bot.app" in imports()["handlers.shared.errors"] or \
        "bot.app" in imports()["handlers.challenges.browse"]


def test_r3_services_know_nothing_of_the_app_notices_channels_or_handlers():
    banned = ("bot.notices", "bot.app", "bot.channels", "handlers")
    found = {f"{source} -> {target}": "" for source, edges in imports().items()
             if source.startswith("bot.services") for target in edges
             if target.startswith(banned)}
    expect(found, SERVICES_IMPORT, "R3 services")


def test_r4_notices_know_no_app_and_db_knows_no_bot():
    found = {f"{source} -> {target}": "" for source, edges in imports().items()
             for target in edges
             if (source.startswith("bot.notices") and target == "bot.app")
             or (source.startswith("db") and target.split(".")[0] in ("bot", "handlers"))}
    expect(found, {}, "R4")


def test_notice_ticks_are_given_what_the_app_has():
    """Notices know no App (R4): their ticks name the parts they use in NoticeContext,
    and the scheduler hands them the App, which must have every one of them."""
    from bot.app import App
    from bot.notices import NoticeContext

    wanted = set(NoticeContext.__annotations__) | {
        name for name in vars(NoticeContext) if not name.startswith("_")}
    assert wanted >= {"sessionmaker", "voice", "now"}, "the reader finds nothing"
    assert wanted - (set(App.__dataclass_fields__) | set(dir(App))) == set()


def test_r5_services_import_without_aiogram():
    names = [m for m in modules() if m.startswith("bot.services") or m in (
        "bot.translator", "bot.labels", "bot.links")]
    script = ("import importlib, sys\nsys.modules['aiogram'] = None\nfailed = []\n"
              f"for name in {names!r}:\n"
              "    try:\n        importlib.import_module(name)\n"
              "    except ImportError:\n        failed.append(name)\nprint(' '.join(failed))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    found = {name: "" for name in result.stdout.split()}
    expect(found, NEEDS_AIOGRAM, "R5 modules that need aiogram")


def _dynamic_imports(module: ast.Module) -> int:
    return sum(isinstance(n, ast.Call) and (
        (isinstance(n.func, ast.Attribute) and n.func.attr == "import_module")
        or (isinstance(n.func, ast.Name) and n.func.id == "__import__"))
        for n in ast.walk(module))


def test_r6_no_import_by_name():
    expect(per_file(_dynamic_imports), IMPORTLIB, "R6 import by name")


def test_r7_modules_stay_small():
    found = {rel(p): n for p in modules().values()
             if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    expect(found, SIZE, f"R7 modules over {MAX_LINES} lines")


def test_r8_functions_stay_simple():
    found = {f"{rel(path)}:{name}": n for path in modules().values()
             for name, fn in functions(path) if (n := cc(fn)) > MAX_COMPLEXITY}
    expect(found, COMPLEXITY, f"R8 functions over complexity {MAX_COMPLEXITY}")


def test_the_complexity_counter_counts_branches_and_conditions():
    fn = ast.parse("def f(a, b):\n    if a and b:\n        return [x for x in a if x]\n"
                   "    return 1 if b else 2\n").body[0]
    assert cc(fn) == 1 + 1 + 1 + 2 + 1  # if, and, for + its if, the conditional expression


AIOGRAM_PRIVATE = {"_propagate_event", "_handler", "_parent_router", "__prefix__"}
SQLALCHEMY_PRIVATE = {"_dbapi_connection", "_is_url_file_db"}


def _private_uses(path: Path) -> list[str]:
    uses = []
    for node in ast.walk(tree(path)):
        if isinstance(node, (ast.Attribute, ast.FunctionDef, ast.AsyncFunctionDef)):
            name = node.attr if isinstance(node, ast.Attribute) else node.name
            if name in AIOGRAM_PRIVATE | SQLALCHEMY_PRIVATE:
                uses.append(name)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                ("aiogram.dispatcher.event", "sqlalchemy.util")):
            uses.append(node.module or "")
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == "unpack" for t in node.targets):
            uses.append(".unpack =")
    return uses


def test_r9_private_api_stays_in_its_one_module():
    found = {}
    for path in modules().values():
        uses = _private_uses(path)
        if rel(path) == SQLITE_DRIVER:
            uses = [u for u in uses if u in AIOGRAM_PRIVATE]
        if rel(path) != INTERNALS and uses:
            found[rel(path)] = " ".join(sorted(set(uses)))
    expect(found, PRIVATE_API, "R9 private API")
    assert _private_uses(ROOT / INTERNALS), "the reader finds nothing: it reads nothing"


def _domain_error_filters(module: ast.Module) -> int:
    return sum(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "ExceptionTypeFilter"
               and any(getattr(a, "id", "") == "DomainError" for a in n.args)
               for n in ast.walk(module))


def _except_domain_error(module: ast.Module) -> int:
    def names(node: ast.expr | None) -> list[str]:
        if isinstance(node, ast.Tuple):
            return [getattr(e, "id", "") for e in node.elts]
        return [getattr(node, "id", "")]
    return sum(isinstance(n, ast.ExceptHandler) and "DomainError" in names(n.type)
               for n in ast.walk(module))


def test_r10_one_handler_answers_domain_errors():
    found = {k: v for k, v in per_file(_domain_error_filters).items()
             if k.startswith("handlers/")}
    assert found == {"handlers/shared/errors.py": 1}
    expect({k: v for k, v in per_file(_except_domain_error).items()
            if k.startswith("handlers/")}, EXCEPT_DOMAIN_ERROR, "R10 except DomainError")


def _app_parameters(module: ast.Module) -> Iterator[tuple[str, str]]:
    """(function name, annotation) of each parameter named `app`."""
    for node in ast.walk(module):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
                if arg.arg == "app":
                    yield node.name, ast.unparse(arg.annotation) if arg.annotation else ""


def test_r11_app_is_typed():
    found = per_file(lambda m: sum(a in ("Any", "object", "")
                                   for _fn, a in _app_parameters(m)))
    expect(found, APP_UNTYPED, "R11 `app` typed Any or object")


def test_r11_services_and_handlers_name_what_they_use_not_the_app():
    """Services take explicit parameters; handlers the keys of HandlerData. One exception:
    my_webinars_text, which a test calls with the app."""
    found = {k: v for k, v in per_file(lambda m: sum(
        fn != "my_webinars_text" for fn, _a in _app_parameters(m))).items()
        if k.startswith(("bot/services/", "handlers/"))}
    expect(found, APP_PARAMETERS, "R11 `app` parameters")


def _i18n_t_calls(module: ast.Module) -> int:
    return sum(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
               and n.func.attr == "t" and ast.unparse(n.func.value).endswith("i18n")
               for n in ast.walk(module))


def _stale_answers(module: ast.Module) -> int:
    return sum(isinstance(n, ast.Constant) and n.value == STALE_TEXT for n in ast.walk(module))


def test_r12_one_translator_and_one_stale_answer():
    expect(per_file(_i18n_t_calls), I18N_T, "R12 i18n.t")
    found = {k: v for k, v in per_file(_stale_answers).items()
             if k != "handlers/shared/texts.py"}
    expect(found, STALE_ANSWERS, "R12 'no longer active'")
    assert per_file(_stale_answers)["handlers/shared/texts.py"] == 1


AIOGRAM_GIVES = {"bot", "event_from_user", "event_chat", "event_update", "event_router",
                 "handler", "state", "raw_state", "fsm_storage", "command", "callback_data",
                 "callback_answer"}


def test_handlers_name_only_data_the_dispatcher_gives():
    """A handler's parameters are filled by name: a misspelt one would be missing at run
    time. Ours are listed, with their types, in bot.app.HandlerData."""
    import inspect

    from bot.app import HandlerData
    from handlers import setup_routers

    known = set(HandlerData.__annotations__) | AIOGRAM_GIVES
    unknown = set()
    for router in setup_routers():
        for observer in router.observers.values():
            for handler in observer.handlers:
                _event, *named = inspect.signature(handler.callback).parameters
                unknown |= {f"{handler.callback.__name__}({p})" for p in named
                            if p not in known}
    assert unknown == set(), "add them to bot.app.HandlerData, or fix the name"


def test_every_exception_names_the_work_package_that_removes_it():
    tables = (CIRCLES, UPWARD, SERVICES_IMPORT, NEEDS_AIOGRAM, IMPORTLIB, SIZE, COMPLEXITY,
              PRIVATE_API, EXCEPT_DOMAIN_ERROR, APP_UNTYPED, APP_PARAMETERS, I18N_T,
              STALE_ANSWERS)
    owners = Counter(v[0] if isinstance(v, tuple) else v for t in tables for v in t.values())
    assert set(owners) <= {"W1-B", "W1-C", "W2-1", "W2-2", "W2-3", "W2-4", "W2-5"}
