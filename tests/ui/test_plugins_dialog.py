"""Help ▸ Plugins: the table of contributions, their status and errors, from the main window."""

from __future__ import annotations

import json

from PySide6.QtGui import QAction, QGuiApplication

from explorer import plugins
from explorer.core.library import Library
from explorer.ui.dialogs.plugins_dialog import PluginsDialog
from explorer.ui.main_window import MainWindow


def _registry_with_problems() -> plugins.Registry:
    reg = plugins.discover([])  # the built-ins, registered directly (with a note)
    origin = plugins.Origin("shaky-plugin", "2.0", "shaky", False)
    entry = reg.add(plugins.Contribution("projection", "shaky", "shaky_impl:fit",
                                         label="Shaky"), origin)
    try:
        entry.resolve()
    except plugins.PluginFailure:
        pass
    reg.failures.append(plugins.Failure(plugins.Origin("gone-plugin", "1.0", "gone", False),
                                        "ModuleNotFoundError: No module named 'gone'",
                                        "Traceback (most recent call last):\n  ...gone..."))
    return reg


def test_dialog_lists_contributions_status_and_errors(qtbot):
    reg = _registry_with_problems()
    dialog = PluginsDialog(registry=reg)
    qtbot.addWidget(dialog)
    table = dialog.table
    assert table.rowCount() == len(reg.entries) + 1
    rows = {table.item(r, 1).text(): [table.item(r, c).text() for c in range(5)]
            for r in range(table.rowCount())}
    assert rows["pca"][:4] == ["projection", "pca", "built-in", "not loaded"]
    assert rows["shaky"][2:4] == ["shaky-plugin 2.0", "failed"]
    assert "cannot import shaky_impl:fit: ModuleNotFoundError" in rows["shaky"][4]
    assert rows["gone"] == ["—", "gone", "gone-plugin 1.0", "failed to load",
                            "ModuleNotFoundError: No module named 'gone'"]
    assert "2 problems" in dialog.summary.text() and "registered directly" in dialog.summary.text()
    shaky = next(r for r in range(table.rowCount()) if table.item(r, 1).text() == "shaky")
    table.setCurrentCell(shaky, 0)
    assert "Traceback" in dialog.details.toPlainText()
    table.setCurrentCell(table.rowCount() - 1, 0)
    assert "nothing from it is registered" in dialog.details.toPlainText()
    dialog.copy_report()
    copied = json.loads(QGuiApplication.clipboard().text())
    assert copied["problems"] == 2 and copied["failures"][0]["distribution"] == "gone-plugin"


def test_help_menu_opens_the_dialog(qtbot, explorer_home):
    window = MainWindow(Library(explorer_home))
    qtbot.addWidget(window)
    window.show()
    try:
        window.findChild(QAction, "pluginsAction").trigger()
        dialog = window.plugins_dialog
        qtbot.waitUntil(dialog.isVisible)
        names = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
        assert {"npy", "pca", "umap", "minilm", "sq8"} <= names
        assert dialog.registry is plugins.registry()
        dialog.close()
    finally:
        window.jobs.shutdown()


def test_start_up_says_when_a_plugin_has_a_problem(qtbot, explorer_home, monkeypatch):
    monkeypatch.setattr(plugins, "registry", _registry_with_problems)
    window = MainWindow(Library(explorer_home), restore=False)
    qtbot.addWidget(window)
    assert window.statusBar().currentMessage().startswith("2 plugin problems")
    monkeypatch.setattr(plugins, "registry", lambda: plugins.discover([]))  # built-ins only
    quiet = MainWindow(Library(explorer_home), restore=False)
    qtbot.addWidget(quiet)
    assert "plugin" not in quiet.statusBar().currentMessage()
