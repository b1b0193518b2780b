"""Imports run one way: cli -> zoo/export -> trainer/metrics -> models -> networks/losses -> data.

Every module of the package is parsed (``ast``), imports inside functions
and ``importlib.import_module("keras_gans....")`` calls included, and each
import of another part of the package is checked against the layers below,
so a circle (the metrics importing the zoo, say) cannot come back unnoticed.
The package namespace is checked too: ``dir(keras_gans)`` is its public API.
"""

import ast
import os

import pytest

import keras_gans as kg

PACKAGE_DIR = os.path.dirname(os.path.abspath(kg.__file__))

#: Layer of each top-level part of the package: a part imports only parts of a
#: lower layer, or of its own layer when the package graph stays acyclic.
LAYERS = {
    "cli": 7,
    "zoo": 6,
    "export": 6,  # exports zoo entries by name: export -> zoo, never back
    "trainer": 5,
    "metrics": 5,
    "callbacks": 4,
    "saving": 4,  # callbacks -> saving (the atomic writes)
    "models": 3,
    "networks": 2,
    "losses": 2,
    "sampling": 2,  # seeds -> latents (numpy) that models draw; helpers take any GAN as an argument
    "data": 1,
    "archive": 0,  # safe extraction, used by data for archives
    "download": 0,  # verified downloads: zoo artifacts, the metrics' Inception graph
    "_lazy": 8,  # the package root's helper: loads the model modules with Keras
}

#: The package root imports its public parts (and only those) for ``kg.*``.
ROOT = "__init__"


def modules():
    """``{dotted module name: path}`` of every ``.py`` file of the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE_DIR):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-3].replace(os.sep, ".")
                found[rel.removesuffix(".__init__")] = path
    return found


def _is_package_path(dotted):
    rel = os.path.join(os.path.dirname(PACKAGE_DIR), *dotted.split("."))
    return os.path.isdir(rel) or os.path.isfile(rel + ".py")


def imported(module, path):
    """``[(line, dotted name)]`` of the ``keras_gans`` modules ``module`` imports, anywhere in it."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    is_package = path.endswith("__init__.py")
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "keras_gans"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "keras_gans":
                continue
            # `from keras_gans import zoo` imports the zoo; `from keras_gans import __version__` the root.
            names = {f"{target}.{a.name}" if _is_package_path(f"{target}.{a.name}") else target for a in node.names}
            out += [(node.lineno, name) for name in sorted(names)]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).split(".")[0] == "keras_gans"
        ):
            out.append((node.lineno, node.args[0].value))
    return sorted(out)


def part(dotted):
    """The top-level part of ``keras_gans.x.y`` (``x``), or ``ROOT`` for the package itself."""
    names = dotted.split(".")
    return names[1] if len(names) > 1 else ROOT


def edges():
    """``{(from part, to part): [where]}`` over the whole package, own-part imports left out."""
    found = {}
    for module, path in sorted(modules().items()):
        for line, target in imported(module, path):
            a, b = part(module), part(target)
            if a != b:
                found.setdefault((a, b), []).append(f"{os.path.relpath(path, PACKAGE_DIR)}:{line} imports {target}")
    return found


def test_every_part_of_the_package_has_a_layer():
    parts = {part(m) for m in modules()} - {ROOT}
    missing = sorted(parts - set(LAYERS))
    assert not missing, f"give {missing} a layer in LAYERS (tests/test_imports.py): where does it sit?"


def test_imports_only_go_down_the_layers():
    wrong = [
        where
        for (a, b), wheres in edges().items()
        if a != ROOT and (b == ROOT or LAYERS.get(b, -1) > LAYERS.get(a, -1))
        for where in wheres
    ]
    assert not wrong, "imports up the layers (cli -> zoo/export -> trainer/metrics -> models -> " \
                      "networks/losses -> data):\n" + "\n".join(wrong)


def test_no_circle_between_parts():
    graph = {}
    for a, b in edges():
        if a != ROOT:
            graph.setdefault(a, set()).add(b)
    state, circles = {}, []

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not circles, "import circles between parts of the package:\n" + "\n".join(circles)


def test_metrics_know_no_zoo():
    found = edges()
    assert ("metrics", "zoo") not in found, "\n".join(found[("metrics", "zoo")])
    # The zoo hands the metrics its classifier: that edge runs the allowed way.
    assert ("zoo", "metrics") in found


def test_the_checker_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(
        "import os\n"
        "def f():\n"
        "    from keras_gans.zoo import registry\n"
        "    from keras_gans import zoo, __version__\n"
        "    import importlib\n"
        "    importlib.import_module('keras_gans.cli')\n"
        "    from .frechet import frechet_distance\n"
    )
    assert imported("keras_gans.metrics.probe", str(path)) == [
        (3, "keras_gans.zoo.registry"), (4, "keras_gans"), (4, "keras_gans.zoo"), (6, "keras_gans.cli"),
        (7, "keras_gans.metrics.frechet"),
    ]


def test_the_namespace_lists_only_the_public_api():
    assert dir(kg) == sorted(kg.__all__)
    for name in kg.__all__:
        assert name == "__version__" or _is_package_path(f"keras_gans.{name}"), name
    for name in ("os", "json", "importlib", "sys"):
        assert not hasattr(kg, name), f"keras_gans.{name} leaks a module into the namespace"
    assert {"models", "zoo", "metrics", "data", "export", "__version__"} <= set(dir(kg))
    assert kg.zoo.list_models  # submodules still load on first use, and stay out of dir()'s extras
    assert dir(kg) == sorted(kg.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kg.nope


@pytest.mark.parametrize(
    "module", ["keras_gans.networks.layers", "keras_gans.losses", "keras_gans.callbacks", "keras_gans.export"]
)
def test_any_module_imports_first_in_a_fresh_process_and_registers_the_models(module):
    # Keras' import loads the model classes, which import the builders: a
    # module imported first must not meet a half-initialized builder module.
    import subprocess
    import sys

    code = (
        f"import {module}, keras; "
        "assert 'keras_gans>DCGAN' in keras.saving.get_custom_objects(), 'DCGAN not registered'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
