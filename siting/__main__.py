"""`python -m siting`: the `siting` command (the web service's workers start runs this way)."""

import sys

from siting.cli.main import main

sys.exit(main())
