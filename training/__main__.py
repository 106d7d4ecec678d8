"""``python -m training ...`` and ``torchrun --nproc_per_node N -m training train ...``: the ``zerolabel`` command
line (:mod:`cli.main`), kept under this name for the app's launcher, the benches and torchrun."""

import sys

from cli.main import main

sys.exit(main())
