"""``python -m medeval`` = the ``medeval`` command."""

import sys

from medeval.cli import main

sys.exit(main())
