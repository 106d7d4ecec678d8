"""Start-up on a machine without the xcb libraries: one message naming every missing library's package."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gui import platform_check

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibfoo.so.9 => not found
"""


def test_ldd_output_names_each_missing_library_and_its_debian_package():
    missing = platform_check.missing_from_ldd(LDD)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0", "libfoo.so.9"]
    assert platform_check.install_hint(missing) == \
        "sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libfoo.so.9"
    assert platform_check.wants_xcb({"QT_QPA_PLATFORM": "xcb"}) and not platform_check.wants_xcb(
        {"QT_QPA_PLATFORM": "offscreen"})


def test_the_app_says_which_packages_to_install_before_qt_starts(tmp_path):
    plugin = platform_check.xcb_plugin()
    if plugin is None:
        pytest.skip("this PySide6 has no xcb plugin")
    real = platform_check.missing_from_ldd(subprocess.run(["ldd", str(plugin)], capture_output=True,
                                                          text=True).stdout)
    missing = platform_check.missing_xcb_libraries()
    assert set(real) <= set(missing)
    if not missing:
        pytest.skip("every xcb library is installed here: the app starts (nothing to report)")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":987", "ZEROLABEL_SETTINGS": str(tmp_path / "s.ini")}
    proc = subprocess.run([sys.executable, "-m", "gui.app"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1 and "apt-get install" in proc.stderr
    for name in missing:
        assert name in proc.stderr and platform_check.PACKAGES.get(name, name) in proc.stderr
    check = subprocess.run([sys.executable, "-m", "gui.platform_check"], capture_output=True, text=True, env=env)
    assert check.returncode == 1 and check.stderr == proc.stderr
