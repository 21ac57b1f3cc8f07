"""The About dialog: version, what Tracemark is, the libraries it stands on and their
licences, and where its files live (settings, demo data)."""

from __future__ import annotations

from importlib import metadata

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from tracemark import __version__

#: (distribution, licence) of what the application ships with.
COMPONENTS = (
    ("PyQt6", "GPL v3 (Riverbank Computing)"), ("Qt", "LGPL v3 (The Qt Company)"),
    ("pyqtgraph", "MIT"), ("numpy", "BSD-3-Clause"), ("scipy", "BSD-3-Clause"),
    ("h5py", "BSD-3-Clause"), ("HDF5", "BSD-style (The HDF Group)"), ("neo", "BSD-3-Clause"),
    ("pynwb", "BSD-3-Clause-LBNL"), ("platformdirs", "MIT"), ("PyYAML", "MIT"),
)


def _version_of(name: str) -> str:
    if name in ("Qt", "HDF5"):
        try:
            if name == "Qt":
                from PyQt6.QtCore import QT_VERSION_STR
                return QT_VERSION_STR
            import h5py
            return h5py.version.hdf5_version
        except ImportError:
            return "?"
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_text() -> str:
    rows = "".join(f"<tr><td>{name}</td><td>{_version_of(name)}</td><td>{licence}</td></tr>"
                   for name, licence in COMPONENTS)
    from .settings import default_qsettings

    settings = default_qsettings().fileName()
    return (f"<h2>Tracemark {__version__}</h2>"
            "<p>Viewer for electrophysiology recordings and keyboard-first annotator of "
            "evoked-response traces (TMS-evoked MEPs and similar).</p>"
            "<p>Tracemark is released under the BSD 3-Clause licence. It is a research tool, "
            "not a certified medical device.</p>"
            f"<p><b>Built on</b></p><table cellspacing='4'><tr><th align='left'>Component</th>"
            f"<th align='left'>Version</th><th align='left'>Licence</th></tr>{rows}</table>"
            f"<p style='color:#666'>Settings: {settings}</p>")


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setAccessibleName("About Tracemark")
        self.setWindowTitle("About Tracemark")
        self.label = QLabel(about_text())
        self.label.setObjectName("aboutDialog.text")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.setObjectName("aboutDialog.buttons")
        buttons.button(QDialogButtonBox.StandardButton.Close).setObjectName("aboutDialog.close")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)
        self.resize(520, 480)


def show_about(parent: QWidget) -> AboutDialog:
    dialog = AboutDialog(parent)
    parent.last_dialog = dialog
    dialog.open()
    return dialog
