"""Open recordings in a main window on an offscreen screen of a given size, as a person
would (nothing pressed), and measure the first page from its rendered pixels.

Run by ``tests/test_first_screen.py`` in a child process, one per screen size (Qt's
screen is fixed when the application starts):

    python first_screen_probe.py --screen 1366x768 --out DIR FILE [FILE...]

``FILE`` may join a recording and a cache with ``::``. For each it writes a PNG of the
window and a JSON line on stdout with what was measured:

* ``rows``: per visible row, the label, whether the page's data are flat, the ink found
  inside the row's band (dark pixels of the trace colour, selection cleared first), how
  tall it is, and how much of it lies on the band's edges (where a clipped trace runs);
* ``stray_ink``: trace-coloured pixels of the plot that lie in no row's band;
* the window's frame and the screen's available area, and, with a cache open, where the
  editor's decision buttons are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

#: A pixel is trace ink when it is this dark (the trace colour is navy, 12, 22, 48;
#: grid, selection band, event lines and labels are all lighter or coloured).
INK_LUMINANCE = 70
INK_MAX_CHANNEL = 120


def ink_mask(image) -> np.ndarray:
    """Boolean (height, width) of trace-coloured pixels in a QImage."""
    from PyQt6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB32)
    width, height = image.width(), image.height()
    pointer = image.constBits()
    pointer.setsize(image.sizeInBytes())
    pixels = np.frombuffer(pointer, dtype=np.uint8).reshape(height, image.bytesPerLine() // 4, 4)
    pixels = pixels[:, :width, :3].astype(np.int32)           # B, G, R
    blue, green, red = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    return (luminance < INK_LUMINANCE) & (np.maximum(np.maximum(red, green), blue) < INK_MAX_CHANNEL)


def measure(window) -> dict:
    from PyQt6.QtCore import QPointF

    viewer = window.viewer
    result = {"title": window.windowTitle(), "frame": _rect(window.frameGeometry()),
              "available": _rect(window.screen().availableGeometry())}
    if viewer.source is not None and not viewer.source.channel_names:
        result["events_only"] = True
        result["events_listed"] = viewer.events_panel.model.rowCount()
        result["events_drawn"] = len(viewer.plot.visible_markers())
    elif viewer.source is not None and viewer.isVisible():
        viewer.model.channels.set_selected(-1)     # every trace in the trace colour
        _settle()
        plot = viewer.plot
        box = plot.getViewBox()
        image = plot.grab().toImage()
        mask = ink_mask(image)
        ratio = image.width() / max(plot.width(), 1)
        area = plot.mapFromScene(box.sceneBoundingRect()).boundingRect()
        x0, x1 = int(area.left() * ratio) + 1, int(area.right() * ratio) - 1
        y0, y1 = int(area.top() * ratio), int(area.bottom() * ratio)
        in_area = np.zeros_like(mask)
        in_area[y0:y1, x0:x1] = True
        claimed = np.zeros_like(mask)
        rows = []
        last = viewer.last_result
        for position, row in enumerate(viewer.model.channels.visible_rows):
            def to_pixels(view_y):
                scene = box.mapViewToScene(QPointF(0.0, view_y))
                return plot.mapFromScene(scene).y() * ratio
            top, bottom = to_pixels(-position + 0.5), to_pixels(-position - 0.5)
            band = slice(max(int(np.floor(top)) - 1, y0), min(int(np.ceil(bottom)) + 2, y1))
            claimed[band, x0:x1] = True
            ink = mask[band, x0:x1]
            ys = np.nonzero(ink.any(axis=1))[0]
            height = int(ys[-1] - ys[0] + 1) if ys.size else 0
            edge = ink[:2].any(axis=0) | ink[-2:].any(axis=0)
            columns = ink.any(axis=0)
            data = np.concatenate([last.mins[:, position], last.maxs[:, position]])
            finite = data[np.isfinite(data)]
            rows.append({"label": viewer.row_labels()[row], "group": viewer.model.channels.group(row),
                         "band_px": round(bottom - top, 1),
                         "ink_px": int(ink.sum()), "ink_height_px": height,
                         "ink_columns": float(columns.mean()) if columns.size else 0.0,
                         "edge_columns": float(edge[columns].mean()) if columns.any() else 0.0,
                         "flat_data": bool(finite.size == 0 or np.ptp(finite) == 0)})
        result["rows"] = rows
        result["stray_ink"] = int((mask & in_area & ~claimed).sum())
        result["sensitivity"] = viewer.status.text("sensitivity")
    if window.session is not None:
        buttons = {}
        for name in ("accept", "reject"):
            button = _find_button(window.editor, name)
            if button is not None:
                top_left = button.mapTo(window, button.rect().topLeft())
                buttons[name] = {"x": top_left.x(), "y": top_left.y(), "w": button.width(),
                                 "h": button.height(), "visible": button.isVisible()
                                 and not button.visibleRegion().isEmpty()}
        result["buttons"] = buttons
        result["window_size"] = [window.width(), window.height()]
    return result


def _find_button(editor, name: str):
    from PyQt6.QtWidgets import QAbstractButton

    for button in editor.findChildren(QAbstractButton):
        if name in button.objectName().lower():
            return button
    return None


def _rect(rect) -> list[int]:
    return [rect.x(), rect.y(), rect.width(), rect.height()]


def _settle() -> None:
    import time

    from PyQt6.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--screen", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    from tracemark.app.snapshot import SnapshotFailure, first_screen, parse_screen, use_offscreen_screen

    size = parse_screen(args.screen)
    args.out.mkdir(parents=True, exist_ok=True)
    use_offscreen_screen(size, args.out)
    for spec in args.files:
        paths = spec.split("::")
        name = "+".join(Path(p).name for p in paths)
        try:
            with first_screen(paths, size) as window:
                window.grab().save(str(args.out / f"{name}.png"))
                report = measure(window)
        except SnapshotFailure as failure:
            report = {"error": str(failure)}
        report["file"] = name
        print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
