"""The small charts: bars of a column's top categories, a histogram of its numbers or dates.

Painted with QPainter rather than a plot library: each is a few rectangles and labels,
and owning the geometry makes clicks and brushes exact (`bar_at`, `bin_at`) and the text
fit a narrow column. Three layers share one scale: the whole set (light), the rows the
filter's other parts let through (strong), and of those the selected ones (a dark core).
A chart reports what the user chose with `partChosen` (on release) and `partMoved` (while a
brush is dragged, for live updates); it never filters itself.

Each chart is a Tab stop: the arrow keys move a focus mark between bars (or bins), Space or
Enter adds or removes the marked one (Shift+arrows stretch a histogram's range), Escape
clears the chart's part; what the marked bar holds is its tooltip and accessible description.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QAccessible, QAccessibleEvent, QColor, QFocusEvent, QFont,
                           QFontMetrics, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from explorer.core.column_charts import (CATEGORIES, OTHER_LABEL, Chart, ChartCounts, ChartPart,
                                         short_number)

ACCENT = QColor(46, 110, 180)  # rows that pass the filter
ACCENT_DARK = QColor(20, 45, 85)  # the selection among them
OUT_OF_PART = QColor(150, 158, 166)  # strong bars outside this chart's own choice
PAD = 6
HIST_HEIGHT = 92  # px of bars in a histogram
MIN_BAR_PX = 2.0  # a non-zero count is never invisible


def layer_colours(widget: QWidget) -> tuple[QColor, QColor, QColor, QColor]:
    """(whole set, filtered, selected, filtered outside the chart's own choice) for the
    widget's background, light or dark: the choice stays the strongest colour on both."""
    if widget.palette().window().color().lightness() >= 128:
        return QColor(205, 214, 226), ACCENT, ACCENT_DARK, OUT_OF_PART
    return QColor(62, 70, 84), QColor(100, 160, 230), QColor(235, 240, 250), \
        QColor(112, 118, 128)


def fraction(count: float, largest: float, width: float, root: bool = False) -> float:
    """A bar's length in pixels; with `root`, proportional to the square root of the count
    (a histogram's heights: a filtered few hundred rows still show their shape beside a
    bin of ten thousand)."""
    if count <= 0 or largest <= 0:
        return 0.0
    share = count / largest
    return max(MIN_BAR_PX, width * (np.sqrt(share) if root else share))


STEPS = {Qt.Key.Key_Up: -1, Qt.Key.Key_Left: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_Right: 1}
TOGGLE_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)
KEYBOARD_FOCUS = (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason,
                  Qt.FocusReason.ShortcutFocusReason)


class ChartWidget(QWidget):
    """What both charts share: the prepared chart, its counts, its own part of the filter."""

    partChosen = Signal(str, object)  # column, ChartPart | None (None: this chart's part removed)
    partMoved = Signal(str, object)  # column, ChartPart: a brush being dragged
    KEYS_HINT = "arrows: move · Space: add or remove · Esc: clear"

    def __init__(self, chart: Chart, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = chart
        self.counts: ChartCounts | None = None
        self.part: ChartPart | None = None
        self.current = 0  # the bar or bin the keyboard marks
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setObjectName(f"chart-{chart.column}")
        self.setAccessibleName(f"Chart of {chart.column}")
        self.small = QFont(self.font())
        self.small.setPointSizeF(max(7.0, self.font().pointSizeF() - 1))

    @property
    def column(self) -> str:
        return self.chart.column

    def show_counts(self, counts: ChartCounts | None) -> None:
        self.counts = counts
        self.update()

    def show_part(self, part: ChartPart | None) -> None:
        """This chart's own part of the filter, as the shared state holds it now."""
        self.part = part
        self.update()

    def set_part(self, part: ChartPart | None) -> None:
        """The user chose `part` here (None: cleared): shown at once, then reported."""
        self.part = part
        self.update()
        self.partChosen.emit(self.column, part)

    def filtered(self) -> np.ndarray:
        return self.counts.filtered if self.counts is not None else self.chart.total

    def selected(self) -> np.ndarray | None:
        return self.counts.selected if self.counts is not None else None

    def title_text(self) -> str:
        c = self.chart
        if c.kind == CATEGORIES:
            more = f" · top {len(c.shown_values())} of {c.distinct:,}" if c.other else ""
            return f"{c.column}{more}"
        scale = " · log scale" if c.bins.scale == "log" else ""
        return f"{c.column}{scale}"

    def paint_title(self, painter: QPainter, text_colour: QColor) -> float:
        """The column's name (bold) and what the chart shows; returns the y below it."""
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text_colour)
        metrics = QFontMetrics(bold)
        title = metrics.elidedText(self.title_text(), Qt.TextElideMode.ElideRight,
                                   self.width() - 2 * PAD)
        painter.drawText(QPointF(PAD, PAD + metrics.ascent()), title)
        return PAD + metrics.height() + 4

    # --- what a bar holds, for tooltips and assistive technology -------------------------
    def name_of(self, i: int) -> str:
        return self.chart.labels[i]

    def describe(self, i: int) -> list[str]:
        """What bar or bin `i` holds, a line each: its name, then its counts."""
        total, filtered = int(self.chart.total[i]), int(self.filtered()[i])
        lines = [self.name_of(i), f"{total:,} rows in the set"]
        if self.counts is not None and filtered != total:
            lines.append(f"{filtered:,} pass the other filters ({filtered / total:.0%})"
                         if total else "")
        selected = self.selected()
        if selected is not None:
            lines.append(f"{int(selected[i]):,} selected")
        return [line for line in lines if line]

    def tooltip_html(self, i: int, hint: str) -> str:
        """`describe` as rich text; a value from the file is text, never markup."""
        lines = [html.escape(line) for line in self.describe(i)]
        return "<br>".join([f"<b>{lines[0]}</b>", *lines[1:], f"<i>{hint}</i>"])

    def centre_of(self, i: int) -> QPointF:
        raise NotImplementedError

    def rect_of(self, i: int) -> QRectF:
        """Where bar or bin `i` is drawn, for the focus mark."""
        raise NotImplementedError

    # --- the keyboard ----------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        """Escape clears a chart's part before it cancels a job (the window's Esc shortcut):
        the chart the user is in comes first, and while it has no part Esc goes on."""
        if event.type() == QEvent.Type.ShortcutOverride and event.modifiers() in (
                Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier,
                Qt.KeyboardModifier.KeypadModifier) and self.handles(event.key()):
            event.accept()
            return True
        return super().event(event)

    def handles(self, key: int) -> bool:
        if not len(self.chart.total):
            return False  # no bar to move to (a set without rows)
        return key in STEPS or key in TOGGLE_KEYS or key in (Qt.Key.Key_Home, Qt.Key.Key_End) \
            or (key == Qt.Key.Key_Escape and self.part is not None)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, shift = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        last = len(self.chart.total) - 1
        if not self.handles(key):
            super().keyPressEvent(event)
            return
        if key in STEPS:
            self.move_to(self.current + STEPS[key], shift)
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_End):
            self.move_to(0 if key == Qt.Key.Key_Home else last, shift)
        elif key in TOGGLE_KEYS:
            self.toggle_current()
        else:
            self.set_part(None)  # Escape, with a part to clear
        event.accept()

    def move_to(self, i: int, extend: bool = False) -> None:
        self.current = min(max(i, 0), len(self.chart.total) - 1)
        self.update()
        self.announce()

    def toggle_current(self) -> None:
        raise NotImplementedError

    def announce(self, tooltip: bool = True) -> None:
        """The marked bar as the accessible description, and a tooltip beside it."""
        if not len(self.chart.total):
            return
        self.setAccessibleDescription("; ".join(self.describe(self.current)))
        QAccessible.updateAccessibility(
            QAccessibleEvent(self, QAccessible.Event.DescriptionChanged))
        if tooltip and self.hasFocus():
            QToolTip.showText(self.mapToGlobal(self.centre_of(self.current).toPoint()),
                              self.tooltip_html(self.current, self.KEYS_HINT), self)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.announce(tooltip=event.reason() in KEYBOARD_FOCUS)  # a click has its own
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        QToolTip.hideText()
        self.update()

    def paint_focus(self, painter: QPainter) -> None:
        """While the chart has the keyboard: a frame round it and round the marked bar."""
        if not self.hasFocus() or not len(self.chart.total):
            return
        colour = self.palette().highlight().color()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(colour, 1))
        painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        painter.setPen(QPen(colour, 2))
        painter.drawRect(self.rect_of(self.current))


class BarChart(ChartWidget):
    """Horizontal bars of the top categories, each with its count; click chooses a bar,
    Ctrl-click adds or removes one, clicking the only chosen bar clears the choice."""

    def row_height(self) -> int:
        return self.fontMetrics().height() + 5

    def top(self) -> float:
        return PAD + self.fontMetrics().height() + 4

    def sizeHint(self) -> QSize:
        rows = len(self.chart.total)
        return QSize(300, int(self.top() + rows * self.row_height() + PAD))

    def minimumSizeHint(self) -> QSize:
        return QSize(180, self.sizeHint().height())

    def bar_at(self, y: float) -> int:
        """The bar under `y` (widget pixels), or -1."""
        at = int((y - self.top()) // self.row_height())
        return at if 0 <= at < len(self.chart.total) and y >= self.top() else -1

    def bar_centre(self, bar: int) -> QPointF:
        """Where a click chooses `bar` (for tests and keyboard-free scripting)."""
        return QPointF(self.width() / 2, self.top() + (bar + 0.5) * self.row_height())

    def centre_of(self, i: int) -> QPointF:
        return self.bar_centre(i)

    def rect_of(self, i: int) -> QRectF:
        return QRectF(2, self.top() + i * self.row_height(), self.width() - 4,
                      self.row_height())

    def name_of(self, i: int) -> str:
        if i == self.chart.other_bar:
            return f"{OTHER_LABEL}: the {self.more_values():,} values without a bar of their own"
        return self.chart.labels[i]

    def toggle_current(self) -> None:
        """Space or Enter: the marked bar joins the choice, or leaves it (Ctrl+click)."""
        self.set_part(self.chart.part_for_bars(sorted(self.chosen() ^ {self.current})))

    def focusInEvent(self, event: QFocusEvent) -> None:
        chosen = self.chosen()
        if chosen and self.current not in chosen:
            self.current = min(chosen)  # the keyboard starts where the choice is
        super().focusInEvent(event)

    def chosen(self) -> set[int]:
        return self.chart.bars_of(self.part) if self.part is not None else set()

    def widths(self) -> tuple[float, float, float]:
        """(label width, bar area's left, bar area's width)."""
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(s) for s in self.chart.labels), default=40)
        label_w = min(widest + 4, 0.42 * self.width())
        count_w = metrics.horizontalAdvance(f"{int(self.chart.total.max(initial=0)):,}") + 8
        left = PAD + label_w + 6
        return label_w, left, max(20.0, self.width() - left - count_w - PAD)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        text = self.palette().windowText().color()
        muted = self.palette().placeholderText().color()
        whole_c, strong_c, sel_c, out_c = layer_colours(self)
        y = self.paint_title(painter, text)
        painter.setFont(self.font())
        label_w, left, bar_w = self.widths()
        total, filtered, selected = self.chart.total, self.filtered(), self.selected()
        largest = float(total.max(initial=0))
        chosen = self.chosen()
        row_h = self.row_height()
        for i, label in enumerate(self.chart.labels):
            top = y + i * row_h
            bar = QRectF(left, top + 2, 0, row_h - 4)
            font = QFont(self.font())
            font.setBold(i in chosen)
            painter.setFont(font)
            painter.setPen(text if self.is_value(i) else muted)
            shown = QFontMetrics(font).elidedText(label, Qt.TextElideMode.ElideRight,
                                                  int(label_w))
            painter.drawText(QRectF(PAD, top, label_w, row_h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, shown)
            painter.fillRect(bar.adjusted(0, 0, fraction(total[i], largest, bar_w), 0), whole_c)
            strong = strong_c if not chosen or i in chosen else out_c
            painter.fillRect(bar.adjusted(0, 0, fraction(filtered[i], largest, bar_w), 0), strong)
            if selected is not None and selected[i]:
                core = bar.adjusted(0, bar.height() / 3, 0, -bar.height() / 3)
                painter.fillRect(core.adjusted(0, 0, fraction(selected[i], largest, bar_w), 0),
                                 sel_c)
            if i in chosen:
                painter.fillRect(QRectF(left - 4, top + 2, 2, row_h - 4), strong_c)
            painter.setFont(self.font())
            painter.setPen(text if not chosen or i in chosen else muted)  # what the choice holds
            count = int(filtered[i])
            painter.drawText(QRectF(left + bar_w + 4, top, self.width(), row_h),
                             Qt.AlignmentFlag.AlignVCenter, f"{count:,}")
        self.paint_focus(painter)
        painter.end()

    def is_value(self, bar: int) -> bool:
        """Whether a bar is one value (not "(missing)" or "(other)", drawn muted)."""
        return bar < len(self.chart.values) and self.chart.values[bar] is not None

    def more_values(self) -> int:
        """How many values share the "(other)" bar."""
        return self.chart.distinct - len(self.chart.shown_values())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        bar = self.bar_at(event.position().y())
        if bar < 0:
            return
        chosen = self.chosen()
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                | Qt.KeyboardModifier.MetaModifier
                                | Qt.KeyboardModifier.ShiftModifier):
            chosen ^= {bar}
        else:
            chosen = set() if chosen == {bar} else {bar}
        self.current = bar
        self.set_part(self.chart.part_for_bars(sorted(chosen)))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        bar = self.bar_at(event.position().y())
        if bar < 0:
            QToolTip.hideText()
            return
        QToolTip.showText(event.globalPosition().toPoint(),
                          self.tooltip_html(bar, "click: filter by it · Ctrl+click: add or "
                                                 "remove"), self)


class Histogram(ChartWidget):
    """Equal-width bins (round edges, a log axis for values spanning decades); drag to brush
    a range, click a bin to choose it, click the only chosen bin or double-click to clear."""

    KEYS_HINT = "arrows: move · Shift+arrows: a range · Space: this bin · Esc: clear"

    def __init__(self, chart: Chart, parent: QWidget | None = None) -> None:
        super().__init__(chart, parent)
        self._press: tuple[float, int] | None = None  # x and bin where a drag began
        self._brush: tuple[int, int] | None = None  # bins shown brushed while dragging
        self._anchor: int | None = None  # the bin a Shift+arrow range stretches from

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        return QSize(300, int(PAD + metrics.height() + 4 + HIST_HEIGHT + 2 * metrics.height()
                              + PAD))

    def minimumSizeHint(self) -> QSize:
        return QSize(180, self.sizeHint().height())

    def plot_rect(self) -> QRectF:
        metrics = self.fontMetrics()
        top = PAD + metrics.height() + 4 + QFontMetrics(self.small).height()
        return QRectF(PAD + 2, top, max(40.0, self.width() - 2 * PAD - 4), HIST_HEIGHT)

    def bins(self) -> int:
        return len(self.chart.total)

    def bin_at(self, x: float) -> int:
        """The bin under `x` (widget pixels), clamped to the first and last."""
        plot = self.plot_rect()
        at = int((x - plot.left()) / plot.width() * self.bins())
        return min(max(at, 0), self.bins() - 1)

    def bin_centre(self, i: int) -> QPointF:
        plot = self.plot_rect()
        return QPointF(plot.left() + (i + 0.5) * plot.width() / self.bins(), plot.center().y())

    def centre_of(self, i: int) -> QPointF:
        return self.bin_centre(i)

    def rect_of(self, i: int) -> QRectF:
        plot = self.plot_rect()
        step = plot.width() / self.bins()
        return QRectF(plot.left() + i * step, plot.top(), step, plot.height()).adjusted(
            -1, -1, 1, 1)

    def name_of(self, i: int) -> str:
        part = self.chart.part_for_bins(i, i)
        return part.label if part is not None else ""

    def move_to(self, i: int, extend: bool = False) -> None:
        """An arrow key; with Shift, the range from where Shift began to the new bin."""
        if not extend:
            self._anchor = None
            super().move_to(i)
            return
        if self._anchor is None:
            self._anchor = self.current
        super().move_to(i)
        self.set_part(self.chart.part_for_bins(self._anchor, self.current))

    def toggle_current(self) -> None:
        """Space or Enter: the marked bin alone, or nothing if it was alone already."""
        self._anchor = None
        here = self.chart.bins_of(self.part) if self.part is not None else None
        i = self.current
        self.set_part(None if here == (i, i) else self.chart.part_for_bins(i, i))

    def focusInEvent(self, event: QFocusEvent) -> None:
        here = self.chart.bins_of(self.part) if self.part is not None else None
        if here is not None and not here[0] <= self.current <= here[1]:
            self.current = here[0]
        super().focusInEvent(event)

    def brushed(self) -> tuple[int, int] | None:
        if self._brush is not None:
            return self._brush
        return self.chart.bins_of(self.part) if self.part is not None else None

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        text = self.palette().windowText().color()
        muted = self.palette().placeholderText().color()
        whole_c, strong_c, sel_c, out_c = layer_colours(self)
        self.paint_title(painter, text)
        plot = self.plot_rect()
        total, filtered, selected = self.chart.total, self.filtered(), self.selected()
        largest = float(total.max(initial=0))
        painter.setFont(self.small)
        painter.setPen(muted)
        small = QFontMetrics(self.small)
        note = f"most in a bin: {int(largest):,} · heights √count"
        if self.chart.missing:
            note += f" · {self.chart.missing:,} without a value"
        painter.drawText(QPointF(plot.left(), plot.top() - small.descent() - 1), note)
        brushed = self.brushed()
        k = self.bins()
        step = plot.width() / k
        if brushed is not None:  # a faint band with firm edges: the range, without hiding bars
            band = QColor(strong_c)
            band.setAlpha(22)
            left, right = plot.left() + brushed[0] * step, plot.left() + (brushed[1] + 1) * step
            painter.fillRect(QRectF(left, plot.top(), right - left, plot.height()), band)
            painter.fillRect(QRectF(left - 1, plot.top(), 2, plot.height()), strong_c)
            painter.fillRect(QRectF(right - 1, plot.top(), 2, plot.height()), strong_c)
        gap = 1.0 if step >= 4 else 0.0
        for i in range(k):
            x = plot.left() + i * step
            inside = brushed is None or brushed[0] <= i <= brushed[1]
            for count, colour, shrink in ((total[i], whole_c, 0.0),
                                          (filtered[i], strong_c if inside else out_c, 0.0),
                                          (selected[i] if selected is not None else 0, sel_c,
                                           step / 3)):
                h = fraction(count, largest, plot.height(), root=True)
                if h:
                    painter.fillRect(QRectF(x + shrink, plot.bottom() - h,
                                            max(1.0, step - gap - 2 * shrink), h), colour)
        painter.setPen(muted)
        painter.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        self.paint_axis(painter, plot, text)
        self.paint_focus(painter)
        painter.end()

    def paint_axis(self, painter: QPainter, plot: QRectF, colour: QColor) -> None:
        """Labels at bin edges, as many as fit without touching, always the first and last."""
        metrics = QFontMetrics(self.small)
        edges = self.chart.bins.edges
        labels = self.chart.labels + [short_number(edges[-1]) if self.chart.unit in
                                      ("integer", "number") else ""]
        k = self.bins()
        step = plot.width() / k
        widest = max(metrics.horizontalAdvance(s) for s in labels if s) + 12
        every = max(1, int(np.ceil(widest / step)))
        painter.setPen(colour)
        y = plot.bottom() + metrics.ascent() + 2
        for i in range(0, k + 1, every):
            if not labels[i]:
                continue
            w = metrics.horizontalAdvance(labels[i])
            x = min(max(plot.left() + i * step - w / 2, 0), self.width() - w - 1)
            painter.drawLine(QPointF(plot.left() + i * step, plot.bottom()),
                             QPointF(plot.left() + i * step, plot.bottom() + 2))
            painter.drawText(QPointF(x, y), labels[i])

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        x = event.position().x()
        self._press = (x, self.bin_at(x))
        self._brush = (self._press[1], self._press[1])
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if self._press is None:
            self._tooltip(event)
            return
        here = self.bin_at(x)
        brush = tuple(sorted((self._press[1], here)))
        if abs(x - self._press[0]) >= 3 and brush != self._brush:
            self._brush = brush
            self.update()
            self.partMoved.emit(self.column, self.chart.part_for_bins(*brush))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._press is None or event.button() != Qt.MouseButton.LeftButton:
            return
        x0, first = self._press
        last = self.bin_at(event.position().x())
        self._press = self._brush = None
        if abs(event.position().x() - x0) < 3:  # a click: this bin, or none if it was it
            current = self.chart.bins_of(self.part) if self.part is not None else None
            part = None if current == (first, first) else self.chart.part_for_bins(first, first)
        else:
            part = self.chart.part_for_bins(first, last)
        self.current, self._anchor = last, None
        self.set_part(part)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self._press = self._brush = None
        self.set_part(None)

    def _tooltip(self, event: QMouseEvent) -> None:
        plot = self.plot_rect()
        if not plot.contains(event.position()):
            QToolTip.hideText()
            return
        i = self.bin_at(event.position().x())
        QToolTip.showText(event.globalPosition().toPoint(),
                          self.tooltip_html(i, "drag: filter by a range · click: this bin · "
                                               "double-click: clear"), self)


def chart_widget(chart: Chart, parent: QWidget | None = None) -> ChartWidget:
    """The widget for a prepared chart: bars for categories, a histogram otherwise."""
    return BarChart(chart, parent) if chart.kind == CATEGORIES else Histogram(chart, parent)
