"""The packaged application's entry point: the ``tracemark`` command (GUI and subcommands).

PyInstaller starts from a script, not from a console-script entry point; this is the one
line the ``tracemark`` script installed by pip runs.
"""

import sys

from tracemark.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
