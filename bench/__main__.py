"""``python -m bench``: the benchmark's command line (see ``bench/cli.py``)."""

import sys

from bench.cli import main

sys.exit(main())
