"""Panels as plugin contributions: declared, imported when the window asks for its panels,
checked, and left out with a reported problem when they cannot be used.

The fake plugins are real distributions (a dist-info folder with entry_points.txt beside
their modules, on sys.path), found by importlib.metadata as installed ones are; their panel
module imports nothing of the app but explorer.plugins.api, like a real plugin.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from explorer import plugins
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.panels import catalogue
from explorer.ui.panels.base import Panel, PanelContext
from explorer.ui.state import AppState
from explorer.ui.workers import JobRunner
from fake_plugins import installed

BUILTIN_KEYS = ["library", "item", "neighbours", "concepts", "charts", "map", "table",
                "compression"]
BUILT_IN = len(BUILTIN_KEYS)

DECLARATION = """
from explorer.plugins.api import Contribution

CONTRIBUTIONS = [
    Contribution("panel", "fine", "fake_panels:Fine", label="Fine"),
    Contribution("panel", "wrongkey", "fake_panels:WrongKey"),
    Contribution("panel", "notpanel", "fake_panels:NotPanel"),
    Contribution("panel", "untitled", "fake_panels:Untitled"),
    Contribution("panel", "missing", "fake_gone:Gone"),
    Contribution("panel", "explodes", "fake_panels:Explodes"),
    Contribution("panel", "map", "fake_panels:MapClash"),  # the built-in map's key
]
"""

PANELS = """
from explorer.plugins.api import Area, Panel


class Fine(Panel):
    key = "fine"
    title = "Fine"
    area = Area.RIGHT

    def __init__(self, context, parent=None):
        super().__init__(context, parent)
        self.sets = []

    def new_set(self, es):
        self.sets.append(es)


class WrongKey(Fine):
    key = "other"


class NotPanel:
    key = "notpanel"
    title = "Not a panel"


class Untitled(Panel):
    key = "untitled"


class Explodes(Fine):
    key = "explodes"
    new_sets = []

    def __init__(self, context, parent=None):
        super().__init__(context, parent)
        raise RuntimeError("constructor exploded")

    def new_set(self, es):
        Explodes.new_sets.append(es)


class MapClash(Fine):
    key = "map"
"""

TWIN = """
from explorer.plugins.api import Contribution

CONTRIBUTIONS = [Contribution("panel", "fine", "fake_panels:Fine", label="Fine again")]
"""

FAKE_MODULES = ("fake_panel_decl", "fake_twin_decl", "fake_panels")


def _distribution(site: Path, name: str, entry_point: str, modules: dict[str, str]) -> None:
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{plugins.GROUP}]\n{entry_point}\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def registry(tmp_path):
    """The registry with two fake panel plugins installed (the second repeats a name)."""
    site = tmp_path / "site"
    site.mkdir()
    _distribution(site, "panel-plugin", "panels = fake_panel_decl:CONTRIBUTIONS",
                  {"fake_panel_decl": DECLARATION, "fake_panels": PANELS})
    _distribution(site, "twin-plugin", "twin = fake_twin_decl:CONTRIBUTIONS",
                  {"fake_twin_decl": TWIN})
    with installed(site, FAKE_MODULES) as reg:
        yield reg


@pytest.fixture
def context(qtbot, explorer_home):
    runner = JobRunner()
    yield PanelContext(AppState(), runner, Library(explorer_home))
    runner.shutdown()


def _entry(reg: plugins.Registry, name: str, dist: str = "panel-plugin") -> plugins.Entry:
    return next(e for e in reg.entries
                if (e.spec.kind, e.spec.name, e.origin.distribution) == ("panel", name, dist))


def test_the_builtin_panels_are_panel_contributions():
    reg = plugins.reload()
    assert list(reg.names("panel")[:BUILT_IN]) == BUILTIN_KEYS
    assert all(e.origin.builtin for e in reg.of_kind("panel")[:BUILT_IN])
    classes = catalogue.panel_classes()
    assert [cls.key for cls in classes[:BUILT_IN]] == BUILTIN_KEYS
    assert all(issubclass(cls, Panel) for cls in classes)
    assert reg.find("panel", "map").spec.title == classes[BUILTIN_KEYS.index("map")].title == "Map"


def test_a_plugin_panel_is_declared_then_imported_when_the_panels_are_asked_for(registry):
    entry = registry.find("panel", "fine")
    assert entry.status == "not loaded" and "fake_panels" not in sys.modules
    assert entry.spec.title == "Fine" and entry.origin.distribution == "panel-plugin"
    listed = next(c for c in registry.to_dict()["contributions"] if c["name"] == "fine")
    assert listed["kind"] == "panel" and not listed["builtin"]
    keys = [cls.key for cls in catalogue.panel_classes()]
    assert keys[:BUILT_IN] == BUILTIN_KEYS and "fine" in keys[BUILT_IN:]
    assert entry.status == "loaded" and "fake_panels" in sys.modules


@pytest.mark.parametrize("name, error", [
    ("wrongkey", "its class's key is 'other', not the declared name 'wrongkey'"),
    ("notpanel", "is not a Panel subclass"),
    ("untitled", "its class has no title"),
    ("missing", "cannot import fake_gone:Gone: ModuleNotFoundError"),
])
def test_a_panel_that_cannot_be_used_is_reported_and_left_out(registry, name, error):
    keys = [cls.key for cls in catalogue.panel_classes()]
    entry = registry.find("panel", name)
    assert entry.status == "failed" and error in entry.error
    assert name not in keys and "other" not in keys
    assert keys[:BUILT_IN] == BUILTIN_KEYS and "fine" in keys


def test_a_key_taken_by_another_panel_is_refused(registry):
    clash = _entry(registry, "map")
    assert clash.status == "ignored" and "already taken by built-in" in clash.error
    twin = _entry(registry, "fine", "twin-plugin")
    assert twin.status == "ignored" and "already taken by plugin panel-plugin" in twin.error
    classes = catalogue.panel_classes()
    assert [cls.key for cls in classes].count("map") == 1
    assert next(cls for cls in classes if cls.key == "map").__module__ != "fake_panels"


def test_build_leaves_out_a_raising_panel_and_reports_every_problem(registry, context):
    built = catalogue.build(context)
    keys = [panel.key for panel in built.panels]
    assert keys[:BUILT_IN] == BUILTIN_KEYS and "fine" in keys[BUILT_IN:] and "explodes" not in keys
    problems = "\n".join(built.problems)
    assert "the panel 'explodes' (plugin panel-plugin) failed: RuntimeError: constructor " \
           "exploded" in problems
    for name in ("wrongkey", "notpanel", "untitled", "missing"):
        assert f"the panel {name!r} (plugin panel-plugin) failed" in problems
    assert "the panel 'map' (plugin panel-plugin): the name is already taken" in problems
    assert "the panel 'fine' (plugin twin-plugin): the name is already taken" in problems
    explodes = registry.find("panel", "explodes")
    assert explodes.status == "failed" and "constructor exploded" in explodes.details
    assert "Traceback" in explodes.details
    assert registry.problems >= 7  # the window's status bar and Help ▸ Plugins count them
    # the panels built go on working; the one that raised half-way never hears of a set
    es = EmbeddingSet(np.eye(4, dtype=np.float32), pa.table({"id": list("abcd")}),
                      name="four", format="test", source=[])
    context.state.set_set(es)
    fine = built.panels[keys.index("fine")]
    assert fine.sets == [es]
    assert sys.modules["fake_panels"].Explodes.new_sets == []


def test_a_callers_own_panels_are_built_as_given(context):
    classes = catalogue.panel_classes()
    built = catalogue.build(context, classes[:2])
    assert [p.key for p in built.panels] == BUILTIN_KEYS[:2] and built.problems == []
    with pytest.raises(ValueError, match="share a key"):
        catalogue.build(context, [classes[0], classes[0]])
