"""``python -m medeval`` = the ``medeval`` command."""

import sys

from medeval.cli.main import main

sys.exit(main())
