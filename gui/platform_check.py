"""Before Qt starts on X11: are the xcb platform plugin's system libraries there? If not, which packages to install.

Qt's own message names only the first library it misses (and on Debian 12 three are usually missing), so the app
runs ``ldd`` on the plugin, also checks ``libxcb-cursor`` (which Qt loads at run time), and names every Debian /
Ubuntu package at once. ``python -m gui.platform_check`` does the same for ``make run``; exit 1 when some are missing.

Example:
    >>> missing_xcb_libraries()  # doctest: +SKIP
    ['libxcb-icccm.so.4', 'libxcb-keysyms.so.1']
    >>> install_hint(['libxcb-icccm.so.4'])  # doctest: +SKIP
    'sudo apt-get install libxcb-icccm4'
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

#: Debian / Ubuntu package of each library the xcb plugin (Qt 6) needs.
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-sync.so.1": "libxcb-sync1", "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0", "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-util.so.1": "libxcb-util1", "libxcb-render.so.0": "libxcb-render0", "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1", "libX11.so.6": "libx11-6", "libSM.so.6": "libsm6", "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1", "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6", "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0", "libxcb-glx.so.0": "libxcb-glx0",
}
RUNTIME_LOADED = ("libxcb-cursor.so.0",)  # dlopen()ed by Qt at start-up, so ldd does not list it


def xcb_plugin() -> Path | None:
    """The xcb platform plugin of the installed (or bundled) PySide6, if there is one."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    for base in spec.submodule_search_locations if spec and spec.submodule_search_locations else []:
        plugin = Path(base) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def missing_from_ldd(output: str) -> list[str]:
    """Library names that ``ldd`` reported as ``not found``, each once, in order."""
    names = [line.split("=>")[0].strip() for line in output.splitlines() if "not found" in line]
    return list(dict.fromkeys(n for n in names if n))


def missing_xcb_libraries(plugin: Path | None = None) -> list[str]:
    """The system libraries the xcb plugin cannot find (empty when it can start, or when there is nothing to check)."""
    plugin = plugin or xcb_plugin()
    if plugin is None or not sys.platform.startswith("linux"):
        return []
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []  # no ldd: Qt's own message will have to do
    missing = missing_from_ldd(out)
    for name in RUNTIME_LOADED:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return list(dict.fromkeys(missing))


def install_hint(missing: list[str]) -> str:
    """The apt-get command that installs the packages of ``missing`` (unknown libraries are named as they are)."""
    packages = [PACKAGES.get(name, name) for name in missing]
    return "sudo apt-get install " + " ".join(dict.fromkeys(packages))


def message(missing: list[str]) -> str:
    return (f"The app cannot start on X11: Qt's xcb platform plugin needs {', '.join(missing)}, which this system "
            f"lacks. On Debian or Ubuntu install them with:\n  {install_hint(missing)}\n"
            "(or run without a display: QT_QPA_PLATFORM=offscreen, or use the command line `zerolabel`)")


def wants_xcb(environ: os._Environ | dict = os.environ) -> bool:
    """Qt would pick the xcb plugin: asked for, or on Linux with no Wayland session and no other platform set."""
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(";")[0].split(":")[0] == "xcb"
    return sys.platform.startswith("linux") and not environ.get("WAYLAND_DISPLAY")


def main() -> int:
    missing = missing_xcb_libraries() if wants_xcb() else []
    if missing:
        print(message(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
