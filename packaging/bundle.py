"""What the standalone Tracemark application must contain beyond what PyInstaller finds by
following imports, and a check of a built folder against it.

``tracemark.spec`` passes these lists to PyInstaller; ``tests/test_packaging.py`` checks
them against the source tree and the installed packages without building (a build takes
minutes); ``smoke_test.sh`` runs :func:`check_folder` on a built folder. Plain Python,
no PyInstaller import, so all three can use it.

Why each addition is needed (PyInstaller sees ``import x`` statements, nothing else):

* every ``tracemark`` module: the reader registry (``io_backends/registry.py``) and the
  CLI (``app/cli.py``) import backends and subcommands by name, as strings;
* pynwb's and hdmf's namespace YAML files: pynwb loads the NWB core and hdmf-common
  schemas from files beside its code at import time; without them ``import pynwb`` fails;
* package metadata (``*.dist-info``): ``tracemark.__version__``, ``neo`` and ``pynwb``
  read versions through ``importlib.metadata`` (``import neo`` fails without its own), and
  the About box lists every component's version;
* ``resources/``: the desktop entry and the icon.

Qt's plugins (platforms, image formats) are collected by PyInstaller's own PyQt6 hook for
the Qt modules the app imports; :func:`required_qt_plugins` names the ones the app cannot
run without, and :func:`check_folder` fails a build that lacks one.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

APP_NAME = "tracemark"
#: Windows only: the same program as a windowed (no console) executable beside it.
WINDOWED_NAME = "tracemarkw"
#: The script PyInstaller starts from (beside this file); it calls ``tracemark.app.cli.main``.
ENTRY_SCRIPT = "launcher.py"
REPO_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = REPO_ROOT / "resources"
ICON_SVG = RESOURCES / "icons" / "tracemark.svg"

#: Distributions whose metadata travels with the app: tracemark's own version, the
#: libraries that read their version at import, and every component About lists.
METADATA = ("tracemark", "neo", "pynwb", "hdmf", "PyQt6", "pyqtgraph", "numpy", "scipy",
            "h5py", "platformdirs", "PyYAML")

#: Modules left out. The test helpers need pytest; the rest are optional imports of the
#: libraries (pandas, scipy, pyqtgraph, h5py) that the app never reaches, and would add
#: tens of megabytes each when present in the build environment.
EXCLUDES = ("tracemark.testing", "pytest", "_pytest", "tkinter", "_tkinter", "IPython",
            "matplotlib", "PyQt5", "PySide2", "PySide6", "pyqtgraph.examples",
            "pyqtgraph.opengl", "pyqtgraph.jupyter")

#: Qt plugins the app cannot do without, as globs under the bundle's Qt ``plugins`` folder,
#: per platform: the desktop's own platform plugin for people (X11 and Wayland on Linux),
#: offscreen for the smoke test and headless use, SVG for the icon.
REQUIRED_QT_PLUGINS = ("platforms/*qoffscreen*", "imageformats/*qsvg*")
DESKTOP_QT_PLUGINS = {"linux": ("platforms/*qxcb*", "platforms/*qwayland*"),
                      "darwin": ("platforms/*qcocoa*",), "win32": ("platforms/*qwindows*",)}


def required_qt_plugins(platform: str = sys.platform) -> tuple[str, ...]:
    desktop = next((plugins for prefix, plugins in DESKTOP_QT_PLUGINS.items()
                    if platform.startswith(prefix)), ())
    return desktop + REQUIRED_QT_PLUGINS

#: Qt plugins collected by PyInstaller's hook but left out of the bundle. The GTK3 platform
#: theme would load the system's GTK, which then runs against the bundle's own copies of
#: GLib, Pango and Cairo from the build machine: a version mismatch that crashes frozen Qt
#: apps at start on GNOME desktops. Without it Qt draws its own (Fusion) style.
LEFT_OUT_QT_PLUGINS = ("platformthemes/libqgtk3",)

#: Data files under a package that the app reads, as (package, glob) pairs: the schemas'
#: namespace YAMLs, pynwb's term-set configuration, and the schemas' licences (they are
#: redistributed with the app).
PACKAGE_DATA = (("pynwb", "nwb-schema/core/*.yaml"), ("pynwb", "nwb-schema/hdmf-common-schema/common/*.yaml"),
                ("pynwb", "config/*.yaml"), ("pynwb", "nwb-schema/[Ll]*.txt"),
                ("hdmf", "common/hdmf-common-schema/common/*.yaml"),
                ("hdmf", "common/hdmf-common-schema/[Ll]*.txt"))


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"{name} is not installed in the build environment ({sys.executable})")
    return Path(spec.origin).parent


def hidden_imports() -> list[str]:
    """Every tracemark module outside the excluded ones, found from the files (nothing is
    imported to list them)."""
    root = package_dir("tracemark")
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if not any(name == ex or name.startswith(ex + ".") for ex in EXCLUDES):
            names.append(name)
    return names


def data_files() -> list[tuple[str, str]]:
    """(source file, folder in the bundle) pairs for PyInstaller's ``datas``."""
    datas = []
    for package, pattern in PACKAGE_DATA:
        root = package_dir(package)
        matches = sorted(root.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"no {pattern} under {root}: has {package}'s layout changed?")
        for path in matches:
            datas.append((str(path), str(Path(package) / path.parent.relative_to(root))))
    for path in sorted(RESOURCES.rglob("*")):
        if path.is_file():
            datas.append((str(path), str(path.parent.relative_to(REPO_ROOT))))
    return datas


def left_out(destination: str) -> bool:
    """Whether a file PyInstaller collected (by its path in the bundle) is left out."""
    path = destination.replace("\\", "/")
    return any(f"/plugins/{plugin}" in path for plugin in LEFT_OUT_QT_PLUGINS)


def qt_plugins_dir(folder: Path) -> Path | None:
    """The Qt plugins folder inside a built application folder."""
    for candidate in sorted(folder.rglob("PyQt6/Qt6/plugins")):
        return candidate
    return None


def executables(platform: str = sys.platform) -> tuple[str, ...]:
    """The programs at the top of a built folder: on Windows also the windowed one."""
    if platform.startswith("win32"):
        return (f"{APP_NAME}.exe", f"{WINDOWED_NAME}.exe")
    return (APP_NAME,)


def check_folder(folder: str | Path) -> list[str]:
    """What a built application folder (or macOS ``.app``) lacks; empty when it is whole."""
    folder = Path(folder)
    problems = []
    plugins = qt_plugins_dir(folder)
    if plugins is None:
        return [f"no PyQt6/Qt6/plugins folder under {folder}"]
    programs = folder / "Contents" / "MacOS" if folder.suffix == ".app" else folder
    for name in executables():
        if not (programs / name).is_file():
            problems.append(f"the program {name} is missing from {programs}")
    for pattern in required_qt_plugins():
        if not list(plugins.glob(pattern)):
            problems.append(f"Qt plugin {pattern} is missing from {plugins}")
    for plugin in LEFT_OUT_QT_PLUGINS:
        if list(plugins.glob(plugin + "*")):
            problems.append(f"Qt plugin {plugin} should have been left out")
    for package, pattern in PACKAGE_DATA:
        if not list(folder.rglob(f"{package}/{pattern}")):
            problems.append(f"{package}'s {pattern} is missing")
    for name in METADATA:
        normalised = name.replace("-", "_").lower()
        if not any(p.name.lower().startswith(normalised + "-") for p in folder.rglob("*.dist-info")):
            problems.append(f"the package metadata of {name} is missing")
    return problems


def render_icon_png(png: Path, size: int = 512) -> Path:
    """The icon as a PNG (PyInstaller turns it into .ico on Windows and .icns on macOS
    with Pillow); drawn with Qt's SVG renderer, which the build environment has."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtGui import QGuiApplication, QImage, QPainter
    from PyQt6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["render-icon", "-platform", "offscreen"])
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    renderer = QSvgRenderer(str(ICON_SVG))
    if not renderer.isValid():
        raise ValueError(f"{ICON_SVG} is not a valid SVG")
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    png.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(png)):
        raise OSError(f"cannot write {png}")
    return png
