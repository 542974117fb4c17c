"""``python -m synack``: the same as the ``synack`` command."""

from synack.cli import main

raise SystemExit(main())
