"""``python -m medeval.cli`` (as ``torchrun ... -m medeval.cli train`` uses it) = the ``medeval`` command."""

import sys

from medeval.cli.main import main

sys.exit(main())
