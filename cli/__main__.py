"""``python -m cli ...``: the ``zerolabel`` command line."""

import sys

from cli.main import main

sys.exit(main())
