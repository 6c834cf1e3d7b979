"""What the map's Export menu writes: the selection's rows, the coordinates (with each row's
cluster per level once the labels are found) and a picture of the view.

Functions of the panel rather than its methods, to keep the panel's module short; the
files are written in the panel's `export` jobs, which are not bound to the set shown (a
file asked for is written even if the user opens another set meanwhile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

if TYPE_CHECKING:
    from explorer.ui.panels.map.panel import MapView


def export_selection(view: MapView) -> None:
    """The selected rows and their metadata, as CSV or Parquet."""
    from explorer.core.export import export_rows

    es, rows = view.es, view.state.selection
    if es is None or not len(rows):
        view.info.setText("Select some items first")
        return
    path, _ = QFileDialog.getSaveFileName(view, "Export selection", f"{es.name}-selection.csv",
                                          "CSV (*.csv);;Parquet (*.parquet)")
    if path:
        view.jobs.submit("export", "Exporting", lambda _state: export_rows(es, rows, path),
                         on_done=lambda p: view.info.setText(f"Wrote {len(rows):,} items to {p}"),
                         set_bound=False)


def export_coordinates(view: MapView) -> None:
    """Row, id, x, y and, when the labels of this layout are found, `level_0`, `level_1`,
    ... (each row's cluster, -1 for none), as Parquet or CSV."""
    from explorer.core.export import export_coordinates as write

    es, coords = view.es, view.coords
    if es is None or coords is None:
        return
    levels = view.labels.level_columns(coords)
    path, _ = QFileDialog.getSaveFileName(view, "Export coordinates", f"{es.name}-map.parquet",
                                          "Parquet (*.parquet);;CSV (*.csv)")
    if path:
        view.jobs.submit("export", "Exporting", lambda _state: write(es, coords, path, levels),
                         on_done=lambda p: view.info.setText(
                             f"Wrote coordinates{' and clusters' if levels else ''} to {p}"),
                         set_bound=False)


def export_view(view: MapView, path: str | None = None, width: int | None = None) -> None:
    """The plot as PNG (`width` pixels wide) or SVG, labels included."""
    if path is None:
        path, _ = QFileDialog.getSaveFileName(view, "Export view", "map.png",
                                              "PNG image (*.png);;SVG (*.svg)")
    if not path:
        return
    view.plot.export(path, width)
    view.info.setText(f"Wrote {path}")


__all__ = ["export_coordinates", "export_selection", "export_view"]
