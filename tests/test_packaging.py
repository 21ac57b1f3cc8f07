"""The standalone packaging, checked without building it.

A PyInstaller build takes about a minute of two cores and needs PyInstaller in a separate
build environment, so the suite does not run it: ``packaging/build.sh`` builds the folder
and ``packaging/smoke_test.sh`` runs it in a clean environment. What is tested here, fast:

* ``packaging/tracemark.spec`` executed with stand-ins for PyInstaller's build objects:
  it starts from the launcher that calls ``tracemark.app.cli.main``, and hands PyInstaller
  the modules imported by name, pynwb's and hdmf's namespace YAMLs, the package metadata
  About needs, and ``resources/``; it refuses a built folder that lacks a required part;
* the Qt plugins the bundle must hold (offscreen among them) exist under those names in
  the installed PyQt6, so the check of a built folder looks for real files;
* the desktop entry, MIME types and icon are well formed and agree with one another;
* ``tracemark --smoke-test`` passes from the source tree (a subprocess, as the packaged
  app runs it) and fails with a reason when the window never gets ready.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import subprocess
import sys
import types
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "tracemark.spec"


def load_bundle():
    spec = importlib.util.spec_from_file_location("tracemark_packaging_bundle", PACKAGING / "bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Recorder:
    """Stands in for one of PyInstaller's build classes, keeping what it was given."""

    made: list[tuple[str, tuple, dict]] = []

    def __init__(self, kind):
        self.kind = kind

    def __call__(self, *args, **kwargs):
        Recorder.made.append((self.kind, args, kwargs))
        return types.SimpleNamespace(pure=[], scripts=[], binaries=list(FAKE_BINARIES), datas=[])


FAKE_BINARIES = [("PyQt6/Qt6/plugins/platformthemes/libqgtk3.so", "/x/libqgtk3.so", "BINARY"),
                 ("PyQt6/Qt6/plugins/platforms/libqoffscreen.so", "/x/libqoffscreen.so", "BINARY")]


def fake_copy_metadata(name: str):
    dist = metadata.distribution(name)   # raises, as PyInstaller's does, when not installed
    return [(str(dist.locate_file("")), f"{name}.dist-info")]


@pytest.fixture
def executed_spec(tmp_path, monkeypatch):
    """The spec run as PyInstaller runs it, against an empty dist folder."""
    return run_spec(tmp_path, monkeypatch)


def run_spec(tmp_path, monkeypatch):
    """(what each build class was given, by kind; why the spec refused; its namespace)."""
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.copy_metadata = fake_copy_metadata
    for name, module in (("PyInstaller", types.ModuleType("PyInstaller")),
                         ("PyInstaller.utils", types.ModuleType("PyInstaller.utils")),
                         ("PyInstaller.utils.hooks", hooks)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "bundle", raising=False)
    Recorder.made = []
    (tmp_path / "dist" / "tracemark").mkdir(parents=True)
    namespace = {"SPECPATH": str(PACKAGING), "DISTPATH": str(tmp_path / "dist"),
                 "workpath": str(tmp_path / "work"), "__file__": str(SPEC)}
    namespace.update({kind: Recorder(kind) for kind in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")})
    with pytest.raises(SystemExit) as refused:
        exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)
    made = {kind: (args, kwargs) for kind, args, kwargs in Recorder.made}
    return made, str(refused.value), namespace


def test_spec_starts_from_the_cli_and_names_the_app(executed_spec):
    made, _, _ = executed_spec
    (scripts,), analysis = made["Analysis"]
    assert [Path(s).name for s in scripts] == ["launcher.py"]
    launcher = (PACKAGING / "launcher.py").read_text()
    assert "from tracemark.app.cli import main" in launcher and "sys.exit(main())" in launcher
    assert made["EXE"][1]["name"] == "tracemark" and made["EXE"][1]["console"] is True
    assert made["COLLECT"][1]["name"] == "tracemark"
    assert "tracemark.testing" in analysis["excludes"]


def test_spec_hands_over_modules_imported_by_name(executed_spec):
    from tracemark.app.cli import SUBCOMMANDS
    from tracemark.io_backends.registry import BACKENDS

    hidden = set(executed_spec[0]["Analysis"][1]["hiddenimports"])
    by_name = {module for module, _ in BACKENDS.values()} | {module for module, _ in SUBCOMMANDS.values()}
    assert by_name <= hidden, by_name - hidden
    assert {"tracemark.app.smoke", "tracemark.app.launch", "tracemark.io_backends.cache.lock"} <= hidden
    assert not any(name.startswith("tracemark.testing") for name in hidden)
    for name in hidden:   # every name is a real module of the source tree
        assert importlib.util.find_spec(name) is not None, name


def test_spec_collects_namespace_files_and_resources(executed_spec):
    datas = executed_spec[0]["Analysis"][1]["datas"]
    by_target = {(Path(dest) / Path(src).name).as_posix() for src, dest in datas}
    for expected in ("pynwb/nwb-schema/core/nwb.namespace.yaml",
                     "pynwb/nwb-schema/core/nwb.base.yaml",
                     "hdmf/common/hdmf-common-schema/common/namespace.yaml",
                     "hdmf/common/hdmf-common-schema/common/table.yaml",
                     "resources/tracemark.desktop", "resources/icons/tracemark.svg",
                     "resources/tracemark-mime.xml"):
        assert expected in by_target, expected
    for src, _ in datas:
        assert Path(src).exists(), src
    assert not any("/docs/" in src.replace(os.sep, "/") for src, _ in datas)


def test_spec_carries_the_metadata_version_and_about_need(executed_spec):
    from tracemark.app.about import COMPONENTS

    datas = executed_spec[0]["Analysis"][1]["datas"]
    carried = {dest.removesuffix(".dist-info") for _, dest in datas if dest.endswith(".dist-info")}
    needed = {name for name, _ in COMPONENTS if name not in ("Qt", "HDF5")} | {"tracemark", "neo", "pynwb"}
    assert needed <= carried, needed - carried


def test_spec_leaves_out_the_gtk_theme(executed_spec):
    _, _, namespace = executed_spec
    kept = [dest for dest, _, _ in namespace["a"].binaries]
    assert kept == ["PyQt6/Qt6/plugins/platforms/libqoffscreen.so"]


def test_spec_refuses_an_incomplete_folder(executed_spec):
    _, refused, _ = executed_spec
    assert "the built folder is incomplete" in refused
    assert "no PyQt6/Qt6/plugins folder" in refused


def test_folder_check_names_each_missing_part(tmp_path):
    bundle = load_bundle()
    plugins = tmp_path / "_internal" / "PyQt6" / "Qt6" / "plugins"
    (plugins / "platforms").mkdir(parents=True)
    (plugins / "platforms" / "libqxcb.so").touch()
    (plugins / "platformthemes").mkdir()
    (plugins / "platformthemes" / "libqgtk3.so").touch()
    problems = "\n".join(bundle.check_folder(tmp_path))
    assert "platforms/*qoffscreen*" in problems and "platforms/*qxcb*" not in problems
    assert "platformthemes/libqgtk3 should have been left out" in problems
    assert "nwb-schema/core/*.yaml" in problems
    assert "metadata of tracemark is missing" in problems


def test_required_qt_plugins_are_real_pyqt6_files():
    import PyQt6

    bundle = load_bundle()
    plugins = Path(PyQt6.__file__).parent / "Qt6" / "plugins"
    required = bundle.required_qt_plugins()
    assert any("offscreen" in pattern for pattern in required)
    assert {"platforms/*qcocoa*", "platforms/*qoffscreen*"} <= set(bundle.required_qt_plugins("darwin"))
    assert {"platforms/*qwindows*", "platforms/*qoffscreen*"} <= set(bundle.required_qt_plugins("win32"))
    for pattern in required:
        assert list(plugins.glob(pattern)), f"{pattern} matches nothing in {plugins}"
    for plugin in bundle.LEFT_OUT_QT_PLUGINS:
        assert list(plugins.glob(plugin + "*")), f"{plugin} is not a PyQt6 plugin (stale name?)"


def test_desktop_entry_agrees_with_icon_and_mime_types():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(REPO / "resources" / "tracemark.desktop", encoding="utf-8")
    main = entry["Desktop Entry"]
    assert main["Exec"].split()[0] == "tracemark" and main["Type"] == "Application"
    assert (REPO / "resources" / "icons" / f"{main['Icon']}.svg").is_file()
    assert entry["Desktop Action demo"]["Exec"] == "tracemark --demo"
    mime_xml = ET.parse(REPO / "resources" / "tracemark-mime.xml").getroot()
    defined = {node.get("type") for node in mime_xml}
    claimed = {t for t in main["MimeType"].split(";") if t}
    assert claimed == defined


def test_desktop_entry_passes_desktop_file_validate():
    if not any((Path(d) / "desktop-file-validate").exists() for d in os.get_exec_path()):
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    result = subprocess.run(["desktop-file-validate", str(REPO / "resources" / "tracemark.desktop")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


def test_icon_renders_for_windows_and_macos_builds(tmp_path, qapp):
    from PyQt6.QtGui import QImage

    png = load_bundle().render_icon_png(tmp_path / "icon.png", size=64)
    image = QImage(str(png))
    assert (image.width(), image.height()) == (64, 64)
    assert image.pixelColor(32, 32).alpha() == 255      # the rounded square is drawn
    assert image.pixelColor(0, 0).alpha() == 0          # its corners stay transparent


def test_smoke_test_passes_from_the_source_tree(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), QT_QPA_PLATFORM="offscreen",
               PYTHONFAULTHANDLER="1")   # a crash prints where it happened
    picture = tmp_path / "window.png"
    result = subprocess.run([sys.executable, "-m", "tracemark", "--smoke-test", str(picture)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    from tracemark import __version__

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"tracemark {__version__}: smoke test passed (offscreen;"), result.stdout
    assert "readers trc, nwb, edf, neo" in result.stdout
    assert picture.stat().st_size > 10_000
    assert list((tmp_path / "data" / "tracemark" / "demo").glob("*.TRC"))
    assert not (tmp_path / "config" / "Tracemark").exists()   # the user's settings are untouched


def test_smoke_test_fails_with_the_reason_at_its_timeout(qapp, capsys):
    from tracemark.app.smoke import run_smoke_test

    assert run_smoke_test(timeout_s=0.0) == 1
    err = capsys.readouterr().err
    # It names what had not happened yet: the first page, the trace, or both (which of
    # them comes first depends on how busy the machine is).
    assert "smoke test FAILED: timed out after 0 s waiting for " in err
    assert "the viewer's first page" in err or "a trace in the trace editor" in err
    assert "Traceback" not in err


def test_smoke_test_fails_when_the_version_is_unknown(qapp, capsys, monkeypatch):
    import tracemark.app.smoke as smoke

    monkeypatch.setattr(smoke, "__version__", "0.0.0+unknown")
    assert smoke.run_smoke_test() == 1
    assert "package metadata is missing, so its version is unknown" in capsys.readouterr().err


def test_smoke_test_never_overwrites_what_is_not_a_png(tmp_path, qapp, capsys):
    from tracemark.app.smoke import run_smoke_test

    recording = tmp_path / "session.TRC"
    recording.write_bytes(b"* MICROMED  Brain-Quick file *" + bytes(100))
    impostor = tmp_path / "looks.png"
    impostor.write_bytes(b"not a picture")
    assert run_smoke_test(recording) == 1
    assert run_smoke_test(impostor) == 1
    err = capsys.readouterr().err
    assert "does not end in .png" in err and "exists and is not a PNG picture" in err
    assert recording.read_bytes().startswith(b"* MICROMED") and impostor.read_bytes() == b"not a picture"


def test_spec_on_windows_adds_a_windowed_program_to_the_same_folder(tmp_path, monkeypatch, qapp):
    monkeypatch.setattr(sys, "platform", "win32")
    run_spec(tmp_path, monkeypatch)
    programs = [kwargs for kind, _, kwargs in Recorder.made if kind == "EXE"]
    assert [(p["name"], p["console"]) for p in programs] == [("tracemark", True), ("tracemarkw", False)]
    assert all(p["icon"].endswith(".png") and Path(p["icon"]).is_file() for p in programs)
    assert not any("codesign_identity" in p for p in programs)
    (collected, _), = [(args, kwargs) for kind, args, kwargs in Recorder.made if kind == "COLLECT"]
    assert sum(1 for item in collected if isinstance(item, types.SimpleNamespace)) == 2
    assert not [kind for kind, _, _ in Recorder.made if kind == "BUNDLE"]
    assert load_bundle().executables("win32") == ("tracemark.exe", "tracemarkw.exe")


def test_spec_on_macos_makes_an_app_signed_with_the_given_identity(tmp_path, monkeypatch, qapp):
    from tracemark import __version__

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("TRACEMARK_CODESIGN_IDENTITY", "Developer ID Application: Lab (TEAM123)")
    monkeypatch.delenv("TRACEMARK_ENTITLEMENTS", raising=False)
    made, _, _ = run_spec(tmp_path, monkeypatch)
    programs = [kwargs for kind, _, kwargs in Recorder.made if kind == "EXE"]
    assert len(programs) == 1 and programs[0]["name"] == "tracemark"
    assert programs[0]["codesign_identity"] == "Developer ID Application: Lab (TEAM123)"
    assert programs[0]["entitlements_file"] is None
    bundle_kwargs = made["BUNDLE"][1]
    assert bundle_kwargs["name"] == "Tracemark.app" and bundle_kwargs["version"] == __version__
    assert bundle_kwargs["bundle_identifier"] == "org.tracemark.Tracemark"


def test_folder_check_finds_the_programs_of_a_folder_and_of_a_macos_app(tmp_path):
    bundle = load_bundle()
    for folder, programs in ((tmp_path / "tracemark", tmp_path / "tracemark"),
                             (tmp_path / "Tracemark.app", tmp_path / "Tracemark.app" / "Contents" / "MacOS")):
        (folder / "_internal" / "PyQt6" / "Qt6" / "plugins").mkdir(parents=True)
        assert f"the program tracemark is missing from {programs}" in bundle.check_folder(folder)
        programs.mkdir(parents=True, exist_ok=True)
        (programs / "tracemark").touch()
        assert not any("the program" in problem for problem in bundle.check_folder(folder))


@pytest.mark.parametrize("script", ["build.sh", "smoke_test.sh"])
def test_build_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
