"""``python -m tracemark`` is the ``tracemark`` command."""

from tracemark.app.cli import main

raise SystemExit(main())
