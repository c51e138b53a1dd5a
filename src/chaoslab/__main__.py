"""`python -m chaoslab` is the `chaoslab` command."""

import sys

from chaoslab.cli import main

sys.exit(main())
