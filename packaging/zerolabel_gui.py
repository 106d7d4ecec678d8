"""PyInstaller entry point of the desktop bundle: the same ``gui.app:main`` as the ``zerolabel-gui`` script."""

import sys

from gui.app import main

if __name__ == "__main__":
    sys.exit(main())
