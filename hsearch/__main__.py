"""``python -m hsearch`` is the ``hsearch`` command."""

import sys

from hsearch.cli import main

sys.exit(main())
