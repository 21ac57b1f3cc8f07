"""Can a window open here? Answered before any ``QApplication`` exists.

When Qt cannot open its platform plugin it aborts the whole process (SIGABRT, exit 134),
and the message it prints names the wrong culprit: a fresh Debian desktop missing
``libxcb-icccm4`` is told that ``libxcb-cursor0`` is needed, and a machine with no display
at all gets the same words. ``check_gui_can_start`` runs first, for the commands that open
a window only, and turns both situations into one plain message:

* **no display**: Qt's platform (``QT_QPA_PLATFORM``, else Wayland when ``WAYLAND_DISPLAY``
  is set, else X11 through ``xcb``) has nothing to draw on; the message says how to get a
  display, or how to work without one;
* **no X server answers**: ``DISPLAY`` names a display where nothing listens (a stale
  value from an SSH session, an X server that has stopped); Qt would abort just the same;
* **missing libraries**: the xcb plugin, or a Qt library the wheel brings with it, needs a
  system library the dynamic loader cannot find; the message names each one and the
  ``apt-get`` and ``dnf`` commands that install it.

Which libraries the plugin needs is read from the ``DT_NEEDED`` entries of its ELF dynamic
section, the list the dynamic loader itself follows. That reader is written here with
``struct`` rather than taken from a package: it is a few dozen lines of a format that has
not changed in thirty years, it adds no dependency, and it costs a few milliseconds where
running ``ldd`` would cost a process. Each needed library is then tried with
``ctypes.CDLL``, exactly as the loader will search for it.

The decision itself is pure (``diagnose`` takes the environment, the operating system, a
function listing the needed libraries and a "can load" predicate), so tests cover every
case without changing the machine. The check never stops Tracemark on a doubt of its own:
if it cannot decide (plugin not found, unreadable ELF, another platform), Qt starts as
before. It imports no Qt; it only asks where the PyQt6 package lies.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform as platform_module
import re
import shlex
import socket
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

#: Platform plugins that draw without a display server.
HEADLESS_PLATFORMS = frozenset(
    {"offscreen", "minimal", "minimalegl", "vnc", "linuxfb", "eglfs", "vkkhrdisplay"})
#: Display-server platforms and the variable that says where their server is.
DISPLAY_VARIABLES = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}
#: Qt >= 6.5 refuses to start xcb without it, whatever the plugin's own links say.
XCB_CURSOR = "libxcb-cursor.so.0"

#: soname -> (Debian/Ubuntu package, Fedora package) that installs it.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libEGL.so.1": ("libegl1", "mesa-libEGL"),
    "libGL.so.1": ("libgl1", "mesa-libGL"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libz.so.1": ("zlib1g", "zlib"),
    "libzstd.so.1": ("libzstd1", "libzstd"),
}

# ELF constants (System V ABI): program header and dynamic entry types.
_PT_LOAD, _PT_DYNAMIC = 1, 2
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_RPATH, _DT_RUNPATH = 0, 1, 5, 10, 15, 29


# --------------------------------------------------------------------------- problems

@dataclass(frozen=True)
class NoDisplay:
    """Qt would find nothing to draw on: every platform it would try lacks its display."""

    platforms: tuple[str, ...]
    requested: str          # QT_QPA_PLATFORM as set, "" when Qt chooses by itself
    arguments: tuple[str, ...]

    def message(self) -> str:
        if self.requested:
            wanted = sorted({DISPLAY_VARIABLES[_family(p)] for p in self.platforms})
            reason = f"QT_QPA_PLATFORM={self.requested} needs {' or '.join(wanted)}, which is not set"
        else:
            reason = "neither DISPLAY nor WAYLAND_DISPLAY is set"
        command = _command_line(self.arguments)
        return "\n".join([
            f"tracemark: cannot open a window: there is no display ({reason}).",
            ("  To get one, run Tracemark inside a desktop session, or under a virtual X server"
             " (package xvfb):"),
            f"    xvfb-run {command}",
            "  For a run without any picture (scripts, checks), set the offscreen platform:",
            f"    QT_QPA_PLATFORM=offscreen {command}",
            _headless_hint(self.arguments),
        ])


@dataclass(frozen=True)
class MissingLibraries:
    """The xcb platform plugin needs system libraries the dynamic loader cannot find."""

    sonames: tuple[str, ...]
    arguments: tuple[str, ...]

    def message(self) -> str:
        debian = _unique(PACKAGES[s][0] for s in self.sonames if s in PACKAGES)
        fedora = _unique(PACKAGES[s][1] for s in self.sonames if s in PACKAGES)
        unknown = [s for s in self.sonames if s not in PACKAGES]
        lines = [
            ("tracemark: cannot open a window: Qt's X11 (xcb) platform plugin needs "
             f"{'this library' if len(self.sonames) == 1 else 'these libraries'}, "
             "which the system does not have:"),
            f"    {' '.join(self.sonames)}",
        ]
        if debian:
            lines += [
                "  Install them, then start Tracemark again:",
                f"    Debian/Ubuntu:  sudo apt-get install {' '.join(debian)}",
                f"    Fedora:         sudo dnf install {' '.join(fedora)}",
            ]
        for soname in unknown:
            lines.append(f"  Find the package that provides {soname} with `apt-file search {soname}`"
                         f" or `dnf provides '*/{soname}'`.")
        lines.append(_headless_hint(self.arguments))
        return "\n".join(lines)


@dataclass(frozen=True)
class DisplayNotAnswering:
    """``DISPLAY`` is set, but no X server accepts a connection there."""

    display: str
    arguments: tuple[str, ...]

    def message(self) -> str:
        command = _command_line(self.arguments)
        return "\n".join([
            f"tracemark: cannot open a window: no X server answers at DISPLAY={self.display}.",
            "  Check that the desktop (or the X forwarding of your SSH session) is still running,",
            "  or set DISPLAY to a display that is; without one, use a virtual X server:",
            f"    xvfb-run {command}",
            _headless_hint(self.arguments),
        ])


StartupProblem = NoDisplay | DisplayNotAnswering | MissingLibraries


def _command_line(arguments: Sequence[str]) -> str:
    return shlex.join(["tracemark", *arguments])


def _headless_hint(arguments: Sequence[str]) -> str:
    files = [a for a in arguments if not a.startswith("-")]
    target = shlex.quote(files[0]) if files else "FILE"
    return (f"  Without a window, `tracemark info {target}` prints a recording's header;\n"
            "  `tracemark cache` and `tracemark plot` work headless too.")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------- the decision

def requested_platforms(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The platform plugins Qt tries, in order, on Linux.

    ``QT_QPA_PLATFORM`` may list several (``wayland;xcb``), each with options after a colon
    (``offscreen:fontengine=freetype``); empty counts as unset. Unset, Qt (>= 6.5) tries
    Wayland first in a Wayland session (``WAYLAND_DISPLAY`` set, or ``XDG_SESSION_TYPE``
    saying so), then xcb.
    """
    value = environ.get("QT_QPA_PLATFORM", "").strip()
    if value:
        return tuple(part.split(":", 1)[0].strip().lower() for part in value.split(";") if part.strip())
    return ("wayland", "xcb") if _wayland_session(environ) else ("xcb",)


def _wayland_session(environ: Mapping[str, str]) -> bool:
    """Without ``WAYLAND_DISPLAY`` Qt still connects to the default ``wayland-0`` socket
    in a Wayland session; given the benefit of the doubt, as refusing a window that would
    have opened is worse than Qt's own message."""
    return bool(environ.get("WAYLAND_DISPLAY")) or environ.get("XDG_SESSION_TYPE") == "wayland"


def _has_display(family: str, environ: Mapping[str, str]) -> bool:
    if family == "wayland":
        return _wayland_session(environ)
    return bool(environ.get(DISPLAY_VARIABLES[family]))


def _family(platform: str) -> str:
    """``wayland-egl`` and other Wayland variants need what ``wayland`` needs."""
    return "wayland" if platform.startswith("wayland") else platform


def platform_to_check(environ: Mapping[str, str], system: str) -> str | NoDisplay | None:
    """The display platform Qt will open (``"xcb"`` or ``"wayland"``), a ``NoDisplay`` when
    none of the platforms Qt would try has a display, or ``None`` when there is nothing to
    check: not Linux, a headless platform, or a platform this check does not know."""
    if system != "Linux":
        return None
    platforms = requested_platforms(environ)
    for platform in platforms:
        family = _family(platform)
        if family in HEADLESS_PLATFORMS or family not in DISPLAY_VARIABLES:
            return None
        if _has_display(family, environ):
            return family
    return NoDisplay(platforms, environ.get("QT_QPA_PLATFORM", "").strip(), ())


def missing_libraries(needed: Iterable[str], can_load: Callable[[str], bool]) -> tuple[str, ...]:
    """The sonames in ``needed`` (plus libxcb-cursor) that ``can_load`` refuses, in order."""
    return tuple(s for s in _unique([*needed, XCB_CURSOR]) if not can_load(s))


def diagnose(
    arguments: Sequence[str],
    environ: Mapping[str, str],
    system: str,
    xcb_dependencies: Callable[[], Sequence[str] | None],
    can_load: Callable[[str], bool],
    x_server_answers: Callable[[str], bool | None] = lambda _display: None,
) -> StartupProblem | None:
    """Why ``tracemark ARGUMENTS`` could not open a window here, or ``None`` when it can (or
    when that cannot be decided). ``xcb_dependencies`` lists the system sonames the xcb
    plugin needs (``None``: unknown); it is called only when Qt would use xcb.
    ``x_server_answers(display)`` says whether an X server accepts connections at
    ``display`` (``None``: cannot tell)."""
    platform = platform_to_check(environ, system)
    if isinstance(platform, NoDisplay):
        return replace(platform, arguments=tuple(arguments))
    if platform != "xcb":
        return None
    display = environ.get("DISPLAY", "")
    if x_server_answers(display) is False:
        return DisplayNotAnswering(display, tuple(arguments))
    needed = xcb_dependencies()
    if needed is None:
        return None
    missing = missing_libraries(needed, can_load)
    return MissingLibraries(missing, tuple(arguments)) if missing else None


def check_gui_can_start(arguments: Sequence[str]) -> StartupProblem | None:
    """``diagnose`` for this process and machine. Never raises: a check that fails for its
    own reasons lets Qt start, as it would have without the check."""
    try:
        return diagnose(arguments, os.environ, platform_module.system(),
                        installed_xcb_dependencies, loader_finds, x_server_answers)
    except Exception:  # noqa: BLE001 (a failure of the check itself must never stop Tracemark)
        return None


# --------------------------------------------------------------------------- the machine

_DISPLAY = re.compile(r"^(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?$")
#: Seconds to wait for a remote X server (X forwarded over SSH listens on localhost).
X_CONNECT_TIMEOUT_S = 1.0


def x_server_answers(display: str) -> bool | None:
    """Whether an X server accepts a connection at ``display`` (``":0"``, ``"localhost:10.0"``,
    ``"unix:1"``); ``None`` when the value is not a form this check knows (Qt decides).
    Local displays are tried on the socket file and on Linux's abstract socket of the same
    name, remote ones on TCP port 6000 + number."""
    match = _DISPLAY.match(display.strip())
    if match is None:
        return None
    host, number = match["host"], int(match["number"])
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        return _unix_connects(path) or _unix_connects("\0" + path)
    try:
        with socket.create_connection((host, 6000 + number), timeout=X_CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _unix_connects(address: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(X_CONNECT_TIMEOUT_S)
        try:
            connection.connect(address)
        except OSError:
            return False
    return True


def loader_finds(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname``: already mapped in this process, or
    loadable now. A library that is found but whose own dependency is missing counts as
    found (the loader's error names that dependency, not ``soname``)."""
    if soname in _mapped_sonames():
        return True
    try:
        ctypes.CDLL(soname)
    except OSError as error:
        return not str(error).startswith(f"{soname}:")
    return True


@cache
def _mapped_sonames() -> frozenset[str]:
    """Names of the shared objects mapped in this process when first asked (``libc.so.6``,
    ...), each also with its version suffixes stripped back to the ``.so.N`` soname form."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return frozenset()
    names: set[str] = set()
    for line in maps.splitlines():
        name = line.rsplit("/", 1)[-1] if "/" in line else ""
        while ".so." in name:
            names.add(name)
            name = name.rsplit(".", 1)[0]
    return frozenset(names)


def installed_xcb_dependencies() -> list[str] | None:
    """System sonames the installed xcb plugin needs, or ``None`` when it is not found or
    cannot be read."""
    plugin = find_xcb_plugin(os.environ)
    if plugin is None:
        return None
    try:
        return system_dependencies(plugin)
    except (OSError, ElfError):
        return None


def find_xcb_plugin(environ: Mapping[str, str]) -> Path | None:
    """``libqxcb.so`` where Qt looks for it: ``QT_QPA_PLATFORM_PLUGIN_PATH``, then each
    ``QT_PLUGIN_PATH`` folder, then the PyQt6 wheel's own plugins."""
    folders = [Path(p) for p in environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if p]
    folders += [Path(p) / "platforms" for p in environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    qt_folder = pyqt6_qt_folder()
    if qt_folder is not None:
        folders.append(qt_folder / "plugins" / "platforms")
    return next((f / "libqxcb.so" for f in folders if (f / "libqxcb.so").is_file()), None)


def pyqt6_qt_folder() -> Path | None:
    """PyQt6's ``Qt6`` folder, found without importing PyQt6 (nor loading any Qt library)."""
    spec = importlib.util.find_spec("PyQt6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt6"


def system_dependencies(library: Path) -> list[str]:
    """The sonames ``library`` needs from the system, first seen first.

    A dependency found in the library's own RUNPATH/RPATH (the Qt libraries and ICU the
    wheel ships next to the plugin) is not a system library: it is followed instead, so
    that what it needs in turn is listed too.
    """
    pending, visited, system = [library.resolve()], set(), []
    while pending:
        current = pending.pop(0)
        if current in visited:
            continue
        visited.add(current)
        dynamic = read_dynamic_section(current)
        for soname in dynamic.needed:
            bundled = _in_search_path(soname, dynamic.search_path(current.parent))
            if bundled is not None:
                pending.append(bundled)
            elif soname not in system:
                system.append(soname)
    return system


def _in_search_path(soname: str, folders: Iterable[Path]) -> Path | None:
    return next(((f / soname).resolve() for f in folders if (f / soname).is_file()), None)


# --------------------------------------------------------------------------- ELF reading

class ElfError(ValueError):
    """The file is not an ELF shared object this reader understands."""


@dataclass(frozen=True)
class DynamicSection:
    """What the dynamic loader reads from a shared object: the sonames it needs (DT_NEEDED,
    in file order) and where it looks for them first (DT_RUNPATH, else DT_RPATH)."""

    needed: tuple[str, ...]
    runpath: tuple[str, ...]

    def search_path(self, origin: Path) -> list[Path]:
        return [Path(entry.replace("${ORIGIN}", str(origin)).replace("$ORIGIN", str(origin)))
                for entry in self.runpath if entry]


@dataclass(frozen=True)
class _ElfLayout:
    """Struct formats for one ELF class and byte order."""

    endian: str
    is_64: bool

    def unpack(self, fmt: str, data: bytes, offset: int = 0) -> tuple[int, ...]:
        return struct.unpack_from(self.endian + fmt, data, offset)

    @property
    def dynamic_entry(self) -> str:      # d_tag, d_val
        return "qQ" if self.is_64 else "iI"

    def program_header(self, data: bytes) -> tuple[int, int, int, int]:
        """(p_type, p_offset, p_vaddr, p_filesz): the fields sit in a different order in
        ELF32 and ELF64."""
        if self.is_64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = self.unpack("IIQQQQ", data)
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = self.unpack("IIIII", data)
        return p_type, p_offset, p_vaddr, p_filesz


def read_dynamic_section(path: Path) -> DynamicSection:
    """DT_NEEDED and DT_RUNPATH of the ELF file at ``path``, read through its program
    headers as the loader does (so a stripped library reads as well as any)."""
    with open(path, "rb") as file:
        ident = file.read(64)
        if len(ident) < 52 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise ElfError(f"{path} is not an ELF file")
        layout = _ElfLayout("<" if ident[5] == 1 else ">", ident[4] == 2)
        if layout.is_64:
            phoff, = layout.unpack("Q", ident, 32)
            phentsize, phnum = layout.unpack("HH", ident, 54)
        else:
            phoff, = layout.unpack("I", ident, 28)
            phentsize, phnum = layout.unpack("HH", ident, 42)
        headers = [layout.program_header(_read_at(file, phoff + i * phentsize, phentsize))
                   for i in range(phnum)]
        dynamic = next((h for h in headers if h[0] == _PT_DYNAMIC), None)
        if dynamic is None:
            raise ElfError(f"{path} has no dynamic section")
        entries = _dynamic_entries(layout, _read_at(file, dynamic[1], dynamic[3]))
        strtab_offset = _file_offset(headers, _first(entries, _DT_STRTAB, path))
        strings = _read_at(file, strtab_offset, _first(entries, _DT_STRSZ, path))
    names = {tag: [_c_string(strings, value) for t, value in entries if t == tag]
             for tag in (_DT_NEEDED, _DT_RUNPATH, _DT_RPATH)}
    runpath = names[_DT_RUNPATH] or names[_DT_RPATH]
    return DynamicSection(tuple(names[_DT_NEEDED]),
                          tuple(p for entry in runpath for p in entry.split(":")))


def _read_at(file, offset: int, size: int) -> bytes:
    file.seek(offset)
    data = file.read(size)
    if len(data) != size:
        raise ElfError(f"{file.name} is truncated")
    return data


def _dynamic_entries(layout: _ElfLayout, data: bytes) -> list[tuple[int, int]]:
    size = struct.calcsize(layout.endian + layout.dynamic_entry)
    entries = []
    for offset in range(0, len(data) - size + 1, size):
        tag, value = layout.unpack(layout.dynamic_entry, data, offset)
        if tag == _DT_NULL:
            break
        entries.append((tag, value))
    return entries


def _first(entries: list[tuple[int, int]], tag: int, path: Path) -> int:
    value = next((v for t, v in entries if t == tag), None)
    if value is None:
        raise ElfError(f"{path}: dynamic section lacks tag {tag}")
    return value


def _file_offset(headers: list[tuple[int, int, int, int]], address: int) -> int:
    """The file offset of a virtual ``address``, through the PT_LOAD segment holding it."""
    for p_type, p_offset, p_vaddr, p_filesz in headers:
        if p_type == _PT_LOAD and p_vaddr <= address < p_vaddr + p_filesz:
            return address - p_vaddr + p_offset
    raise ElfError(f"address {address:#x} lies in no loaded segment")


def _c_string(strings: bytes, offset: int) -> str:
    end = strings.find(b"\0", offset)
    if end < 0:
        raise ElfError("unterminated string in the dynamic string table")
    return strings[offset:end].decode("utf-8", "replace")
