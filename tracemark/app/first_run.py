"""The first-run hint: a small card over the window listing the keys that matter for
reviewing, dismissed with a click or Escape; "Don't show again" is remembered in QSettings
(Help › Getting started shows it again)."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QCheckBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .settings import Settings

KEYS = (("A", "accept, then the next unreviewed trace"), ("R", "reject, then the next unreviewed"),
        ("N / P", "next / previous trace"), ("← →", "onset one sample earlier / later"),
        ("Shift+← →", "onset 1 ms earlier / later"), ("E", "estimate peaks in the latency window"),
        ("C", "comment (Enter saves)"), ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo"),
        ("F6 / Shift+F6", "keys to the trace editor / the signal viewer"), ("F1", "every shortcut"))


class FirstRunHint(QFrame):
    def __init__(self, settings: Settings, parent: QWidget):
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("firstRunHint")
        self.setAccessibleName("Getting started")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#firstRunHint { background: #fffdf4; border: 1px solid #d8c98a;"
                           " border-radius: 6px; } QLabel { color: #222; }")
        rows = "".join(f"<tr><td align='right'><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>"
                       for k, v in KEYS)
        text = QLabel("<b>Reviewing traces from the keyboard</b>"
                      f"<table cellspacing='2' style='margin-top:6px'>{rows}</table>"
                      "<p style='color:#555'>Every decision is saved at once; nothing needs saving.</p>")
        text.setObjectName("firstRunHint.text")
        self.dont_show = QCheckBox("Don't show again")
        self.dont_show.setObjectName("firstRunHint.dontShowAgain")
        self.dont_show.setAccessibleName("Don't show this hint again")
        self.dont_show.setChecked(True)
        close = QPushButton("Got it")
        close.setObjectName("firstRunHint.close")
        close.setAccessibleName("Close the hint")
        close.setDefault(True)
        close.clicked.connect(self.dismiss)
        buttons = QHBoxLayout()
        buttons.addWidget(self.dont_show)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(buttons)
        self.close_button = close

    def show_over(self, window: QWidget) -> None:
        self.adjustSize()
        # Bottom left, over the recording: the trace, its form and the table stay in view.
        self.move(24, max(window.height() - self.height() - 60, 40))
        self.raise_()
        self.show()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.dismiss()
        else:
            super().keyPressEvent(event)

    def dismiss(self) -> None:
        if self.dont_show.isChecked():
            self.settings.set_hint_dismissed(True)
        self.hide()
        self.deleteLater()
