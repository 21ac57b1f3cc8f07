"""Lowering the operating system's priority of the calling thread, so that background
work (the overview summary) waits for pages and the window. No Qt: the summary's helper
threads are plain Python threads.

Heavy work here (positional reads, numpy min/max) releases the interpreter lock, so the
lock is not what such threads compete for; the cores are. Linux gives each thread its own
nice value; Windows has per-thread priority levels. Elsewhere nothing is changed: the
pause while the person pages still keeps the work out of the way.
"""

from __future__ import annotations

import os
import sys
import threading

#: How much nicer background threads are than the process on Linux (19 is the lowest).
BACKGROUND_NICENESS = 10
#: Windows' ``THREAD_PRIORITY_BELOW_NORMAL``.
_BELOW_NORMAL = -1


def lower_os_priority_of_this_thread() -> None:
    """Run the calling thread after normal ones, where the platform allows it."""
    if sys.platform.startswith("linux"):
        try:
            thread = threading.get_native_id()
            niceness = os.getpriority(os.PRIO_PROCESS, thread) + BACKGROUND_NICENESS
            os.setpriority(os.PRIO_PROCESS, thread, min(niceness, 19))
        except OSError:
            pass   # not permitted here: the pause while paging still keeps it out of the way
    elif sys.platform == "win32":
        import ctypes  # noqa: PLC0415 (Windows only)

        kernel32 = ctypes.windll.kernel32
        kernel32.SetThreadPriority(kernel32.GetCurrentThread(), _BELOW_NORMAL)
