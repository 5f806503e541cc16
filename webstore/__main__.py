"""``python -m webstore``: the command-line interface."""

from webstore.cli import main

raise SystemExit(main())
