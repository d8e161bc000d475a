"""The shape of ``keras_wgan/cli``: commands beside the ``training`` wing, no import
circle, no module over 450 lines, and the package docstring names every command.
Read from the source files (``ast``), without importing a framework."""

import ast
import pathlib

import pytest

CLI = pathlib.Path(__file__).resolve().parent.parent / "keras_wgan" / "cli"
MAX_LINES = 450


def _module_name(path):
    parts = path.relative_to(CLI.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, known):
    """The ``keras_wgan.cli`` modules ``path`` imports (at any depth of its code)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                for name in (f"{node.module}.{alias.name}", node.module):
                    if name in known:
                        found.add(name)
                        break
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
    return found


def import_graph():
    paths = {_module_name(path): path for path in CLI.rglob("*.py")}
    return {name: _imports(path, paths) - {name} for name, path in paths.items()}


def find_cycle(graph):
    """One import circle of ``graph`` as a list of modules, or None."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                cycle = visit(dep, stack)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def test_the_finder_sees_a_circle_and_a_clean_graph():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circle_in_cli():
    graph = import_graph()
    assert "keras_wgan.cli.training.team" in graph  # the wing is seen
    assert "keras_wgan.cli.training.runtime" in graph["keras_wgan.cli.training.team"]
    assert find_cycle(graph) is None, find_cycle(graph)


@pytest.mark.parametrize("path", sorted(CLI.rglob("*.py")), ids=lambda p: p.name)
def test_no_cli_module_over_450_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_the_package_docstring_names_every_command():
    from keras_wgan import cli

    parser = cli.build_parser()
    commands = next(action for action in parser._actions
                    if action.dest == "command").choices
    assert len(commands) == 8
    for name in commands:
        assert f"``{name}``" in cli.__doc__.split("Each subcommand")[1], name


def test_no_private_name_is_imported_across_the_checkpointing_and_cli_modules():
    """Checkpointing (``checkpoints.py``, ``callbacks/``) and ``cli/`` talk through
    public names only: ``from keras_wgan.x import _name`` is a hidden coupling."""
    package = CLI.parent
    paths = [package / "checkpoints.py", *(package / "callbacks").glob("*.py"),
             *CLI.rglob("*.py")]
    private = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras_wgan"):
                private += [f"{path.name}: {node.module}.{alias.name}" for alias in node.names
                            if alias.name.startswith("_") and alias.name != "__version__"]
    assert private == []
