"""Start-up that explains itself: no display, or missing X11 libraries, give one message and
a named exit code before Qt could abort; headless commands are never checked.

Nothing here changes the machine: a missing library is simulated with the "can load"
predicate, a missing display with the environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracemark.app import cli, startup_check
from tracemark.app.cli import (
    EXIT_MISSING_LIBRARIES,
    EXIT_NO_DISPLAY,
    EXIT_USER_ERROR,
    main,
)
from tracemark.app.startup_check import (
    ElfError,
    MissingLibraries,
    NoDisplay,
    diagnose,
    find_xcb_plugin,
    platform_to_check,
    read_dynamic_section,
    system_dependencies,
)

#: What the xcb plugin needs on a typical machine (as system_dependencies lists it).
XCB_NEEDS = ["libGL.so.1", "libxkbcommon.so.0", "libxkbcommon-x11.so.0", "libxcb-cursor.so.0",
             "libxcb-icccm.so.4", "libxcb-util.so.1", "libxcb-image.so.0", "libxcb-keysyms.so.1",
             "libxcb-randr.so.0", "libxcb-render-util.so.0", "libxcb.so.1", "libX11-xcb.so.1",
             "libc.so.6"]


RUN_MAIN_ON_ARGUMENT = "import sys; from tracemark.app.cli import main; sys.exit(main([sys.argv[1]]))"


def hiding(*sonames: str):
    """A "can load" predicate for a machine where exactly ``sonames`` are not installed."""
    return lambda soname: soname not in sonames


def refuse(*_args):
    raise AssertionError("must not be called")


@pytest.fixture
def no_display(monkeypatch):
    """A session with no display at all (conftest's offscreen default removed too)."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def x11_session(monkeypatch, no_display):
    """An X11 session whose server answers (the probe is stood in for: none runs here)."""
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(startup_check, "x_server_answers", lambda _display: True)


@pytest.fixture
def qt_never_starts(monkeypatch):
    """Starting Qt here would abort the test process: any call is a test failure instead."""
    import tracemark.app.launch

    monkeypatch.setattr(tracemark.app.launch, "launch_gui", refuse)


# --------------------------------------------------------------------------- platform choice

@pytest.mark.parametrize("environ, expected", [
    ({"DISPLAY": ":0"}, "xcb"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "wayland"),
    ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "wayland"),
    ({"QT_QPA_PLATFORM": "", "DISPLAY": ":0"}, "xcb"),
    ({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "xcb"),
    ({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":0"}, "xcb"),
    ({"QT_QPA_PLATFORM": "wayland-egl", "WAYLAND_DISPLAY": "wayland-0"}, "wayland"),
    ({"XDG_SESSION_TYPE": "wayland"}, "wayland"),  # Qt then connects to wayland-0 by default
    ({"XDG_SESSION_TYPE": "x11"}, NoDisplay(("xcb",), "", ())),
    ({"QT_QPA_PLATFORM": "offscreen"}, None),
    ({"QT_QPA_PLATFORM": "offscreen:fontengine=freetype"}, None),
    ({"QT_QPA_PLATFORM": "minimal"}, None),
    ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, None),
    ({"QT_QPA_PLATFORM": "some-custom-plugin"}, None),
], ids=lambda value: repr(value) if isinstance(value, dict) else str(value))
def test_the_platform_checked_is_the_one_qt_will_use(environ, expected):
    assert platform_to_check(environ, "Linux") == expected


@pytest.mark.parametrize("environ, platforms", [
    ({}, ("xcb",)),
    ({"QT_QPA_PLATFORM": ""}, ("xcb",)),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, ("xcb",)),
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, ("wayland",)),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, ("wayland", "xcb")),
])
def test_no_display_for_any_platform_qt_would_try(environ, platforms):
    decision = platform_to_check(environ, "Linux")
    assert isinstance(decision, NoDisplay)
    assert decision.platforms == platforms


@pytest.mark.parametrize("system", ["Windows", "Darwin"])
def test_windows_and_macos_are_never_checked(system):
    assert diagnose(["--demo"], {}, system, refuse, refuse) is None


@pytest.mark.parametrize("platform", ["offscreen", "minimal", "vnc", "linuxfb", "eglfs"])
def test_headless_platforms_need_no_display_and_no_library_check(platform):
    assert diagnose(["--demo"], {"QT_QPA_PLATFORM": platform}, "Linux", refuse, refuse) is None


def test_wayland_is_not_checked_for_x11_libraries():
    environ = {"WAYLAND_DISPLAY": "wayland-0"}
    assert diagnose([], environ, "Linux", refuse, refuse) is None


# --------------------------------------------------------------------------- no display

def test_no_display_gives_one_message_and_its_exit_code(no_display, qt_never_starts, capsys):
    assert main(["--demo"]) == EXIT_NO_DISPLAY
    captured = capsys.readouterr()
    assert captured.out == ""
    message = captured.err
    assert message.startswith("tracemark: cannot open a window: there is no display")
    assert "neither DISPLAY nor WAYLAND_DISPLAY is set" in message
    assert "desktop session" in message
    assert "xvfb-run tracemark --demo" in message
    assert "QT_QPA_PLATFORM=offscreen tracemark --demo" in message
    assert "tracemark info FILE" in message
    assert "Traceback" not in message and message.count("tracemark: cannot open") == 1


def test_no_display_message_names_the_file_and_the_platform_asked_for(
        no_display, qt_never_starts, monkeypatch, capsys):
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert main(["my recording.TRC"]) == EXIT_NO_DISPLAY
    message = capsys.readouterr().err
    assert "QT_QPA_PLATFORM=xcb needs DISPLAY, which is not set" in message
    assert "xvfb-run tracemark 'my recording.TRC'" in message
    assert "tracemark info 'my recording.TRC'" in message


def test_a_real_process_without_display_exits_with_the_message_not_an_abort(tmp_path):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    environ["QT_QPA_PLATFORM"] = ""
    result = subprocess.run(
        [sys.executable, "-c", RUN_MAIN_ON_ARGUMENT, str(tmp_path / "somefile.TRC")],
        check=False, capture_output=True, text=True, env=environ, timeout=120)
    assert result.returncode == EXIT_NO_DISPLAY, result.stderr
    assert "cannot open a window: there is no display" in result.stderr
    assert "qt.qpa" not in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- missing libraries

def test_missing_libraries_are_named_with_their_packages():
    problem = diagnose(["--demo"], {"DISPLAY": ":0"}, "Linux", lambda: XCB_NEEDS,
                       hiding("libxcb-icccm.so.4", "libxcb-keysyms.so.1"))
    assert problem == MissingLibraries(("libxcb-icccm.so.4", "libxcb-keysyms.so.1"), ("--demo",))
    message = problem.message()
    assert "    libxcb-icccm.so.4 libxcb-keysyms.so.1\n" in message
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1\n" in message
    assert "sudo dnf install xcb-util-wm xcb-util-keysyms\n" in message
    assert "tracemark info FILE" in message
    assert "cursor" not in message  # the library Qt's own message would have blamed


def test_libxcb_cursor_is_checked_even_when_the_plugin_does_not_link_it():
    needs = [s for s in XCB_NEEDS if s != "libxcb-cursor.so.0"]
    problem = diagnose([], {"DISPLAY": ":0"}, "Linux", lambda: needs, hiding("libxcb-cursor.so.0"))
    assert problem.sonames == ("libxcb-cursor.so.0",)
    assert "sudo apt-get install libxcb-cursor0\n" in problem.message()
    assert "sudo dnf install xcb-util-cursor\n" in problem.message()


def test_packages_are_listed_once_and_unknown_sonames_as_they_are():
    needs = ["libxcb-shm.so.0", "libxcb-xkb.so.1", "libweird.so.7"]
    problem = diagnose([], {"DISPLAY": ":0"}, "Linux", lambda: needs, hiding(*needs))
    message = problem.message()
    assert "sudo apt-get install libxcb-shm0 libxcb-xkb1\n" in message
    assert "sudo dnf install libxcb\n" in message
    assert "apt-file search libweird.so.7" in message and "dnf provides '*/libweird.so.7'" in message


def test_nothing_missing_lets_qt_start():
    assert diagnose([], {"DISPLAY": ":0"}, "Linux", lambda: XCB_NEEDS, hiding()) is None


def test_an_undecidable_check_lets_qt_start():
    assert diagnose([], {"DISPLAY": ":0"}, "Linux", lambda: None, refuse) is None


def test_missing_libraries_through_the_command_line(x11_session, qt_never_starts, monkeypatch, capsys):
    monkeypatch.setattr(startup_check, "installed_xcb_dependencies", lambda: XCB_NEEDS)
    monkeypatch.setattr(startup_check, "loader_finds", hiding("libxcb-icccm.so.4", "libxcb-keysyms.so.1"))
    assert main(["recording.TRC"]) == EXIT_MISSING_LIBRARIES
    message = capsys.readouterr().err
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in message
    assert "tracemark info recording.TRC" in message


def test_a_check_that_breaks_lets_qt_start(x11_session, monkeypatch):
    def broken():
        raise RuntimeError("simulated bug in the check")

    monkeypatch.setattr(startup_check, "installed_xcb_dependencies", broken)
    assert startup_check.check_gui_can_start([]) is None


def test_an_unreadable_plugin_lets_qt_start(x11_session, monkeypatch, tmp_path):
    (tmp_path / "libqxcb.so").write_bytes(b"not an ELF file at all, " * 8)
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", str(tmp_path))
    monkeypatch.setattr(startup_check, "loader_finds", refuse)
    assert startup_check.installed_xcb_dependencies() is None
    assert startup_check.check_gui_can_start([]) is None
    with pytest.raises(ElfError):
        read_dynamic_section(tmp_path / "libqxcb.so")


# --------------------------------------------------------------------------- who is checked

@pytest.mark.parametrize("argv", [
    ["info", "/nonexistent/recording.TRC"],
    ["cache", "peek", "/nonexistent/traces.hdf5"],
    ["plot", "average", "/nonexistent/traces.hdf5", "-o", "/nonexistent/average.svg"],
])
def test_headless_subcommands_are_never_checked(no_display, monkeypatch, argv, capsys):
    monkeypatch.setattr(startup_check, "check_gui_can_start", refuse)
    assert main(argv) == EXIT_USER_ERROR
    assert "cannot open a window" not in capsys.readouterr().err


def test_the_smoke_test_is_never_checked(no_display, monkeypatch):
    import tracemark.app.smoke

    monkeypatch.setattr(startup_check, "check_gui_can_start", refuse)
    monkeypatch.setattr(tracemark.app.smoke, "run_smoke_test", lambda png: 0)
    assert main(["--smoke-test"]) == 0


def test_the_gui_paths_are_checked_before_qt(no_display, qt_never_starts, monkeypatch):
    seen = []
    monkeypatch.setattr(startup_check, "check_gui_can_start",
                        lambda argv: seen.append(list(argv)) or NoDisplay(("xcb",), "", tuple(argv)))
    for argv in ([], ["recording.TRC"], ["--demo"]):
        assert main(argv) == EXIT_NO_DISPLAY
    assert seen == [[], ["recording.TRC"], ["--demo"]]


def test_exit_codes_are_distinct():
    codes = [cli.EXIT_OK, cli.EXIT_USER_ERROR, cli.EXIT_USAGE, EXIT_NO_DISPLAY, EXIT_MISSING_LIBRARIES]
    assert len(set(codes)) == len(codes) and EXIT_NO_DISPLAY == 3


# --------------------------------------------------------------------------- the ELF reader

@pytest.fixture
def xcb_plugin() -> Path:
    plugin = find_xcb_plugin({})
    if plugin is None:
        pytest.skip("PyQt6's xcb platform plugin (libqxcb.so) is not installed here")
    return plugin


def readelf_needed(library: Path) -> list[str] | None:
    """DT_NEEDED by ``readelf -d``, in file order (None without binutils)."""
    readelf = shutil.which("readelf")
    if readelf is None:
        return None
    output = subprocess.run([readelf, "-d", str(library)], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in output.splitlines() if "(NEEDED)" in line]


def ldd_names(library: Path) -> set[str] | None:
    """Every soname ``ldd`` resolves for ``library``, transitively (None without ldd)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    output = subprocess.run([ldd, str(library)], check=False, capture_output=True, text=True).stdout
    return {Path(line.split()[0]).name for line in output.splitlines() if line.strip()}


def test_the_elf_reader_matches_readelf_on_the_installed_plugin(xcb_plugin):
    needed = list(read_dynamic_section(xcb_plugin).needed)
    expected = readelf_needed(xcb_plugin)
    if expected is None:
        expected = ldd_names(xcb_plugin)
        if expected is None:
            pytest.skip("neither readelf nor ldd is installed to compare with")
        assert set(needed) <= expected
    else:
        assert needed == expected
    assert "libxcb.so.1" in needed and "libQt6XcbQpa.so.6" in needed


def test_the_elf_reader_matches_readelf_on_the_qt_helper_library(xcb_plugin):
    helper = xcb_plugin.parents[2] / "lib" / "libQt6XcbQpa.so.6"
    if not helper.is_file():
        pytest.skip(f"{helper} is not part of this PyQt6 install")
    dynamic = read_dynamic_section(helper)
    expected = readelf_needed(helper)
    if expected is None:
        pytest.skip("readelf (binutils) is not installed to compare with")
    assert list(dynamic.needed) == expected
    assert dynamic.runpath == ("$ORIGIN",)


def test_system_dependencies_follow_the_wheels_qt_libraries(xcb_plugin):
    dependencies = system_dependencies(xcb_plugin)
    assert not [s for s in dependencies if s.startswith("libQt6")]
    assert {"libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0"} <= set(dependencies)
    # libEGL comes from libQt6Gui, which the plugin reaches through libQt6XcbQpa.
    assert "libEGL.so.1" in dependencies
    resolved = ldd_names(xcb_plugin)
    if resolved is not None:
        assert set(dependencies) <= resolved


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sonames and the check are Linux-only")
def test_the_real_loader_predicate():
    assert startup_check.loader_finds("libc.so.6")
    assert startup_check.loader_finds("libm.so.6")
    assert not startup_check.loader_finds("libtracemark-surely-absent.so.7")


def test_a_display_where_no_x_server_answers_is_named_instead_of_a_qt_abort():
    from tracemark.app.startup_check import DisplayNotAnswering

    problem = diagnose(["rec.edf"], {"DISPLAY": ":57"}, "Linux", lambda: [], lambda _s: True,
                       lambda display: False)
    assert isinstance(problem, DisplayNotAnswering)
    assert "no X server answers at DISPLAY=:57" in problem.message()
    assert "xvfb-run tracemark rec.edf" in problem.message()
    assert diagnose([], {"DISPLAY": ":57"}, "Linux", lambda: [], lambda _s: True,
                    lambda display: None) is None      # cannot tell: Qt decides


def test_the_x_server_probe_tells_a_live_display_from_a_stale_one(tmp_path, monkeypatch):
    import socket

    from tracemark.app import startup_check

    assert startup_check.x_server_answers("not a display") is None
    assert startup_check.x_server_answers(":4999") is False          # nothing listens there
    assert startup_check.x_server_answers("127.0.0.1:4999") is False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:   # a "remote" X server
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        if port < 6000:
            pytest.skip(f"the free port {port} is below the X range")
        assert startup_check.x_server_answers(f"127.0.0.1:{port - 6000}") is True
