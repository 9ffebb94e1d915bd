"""Ask a running server where it is stuck: ``kill -USR1 PID`` writes every thread's stack to its log.

A server that hangs (a training that never starts, a page that never answers) on a teacher's machine or in CI
says nothing by itself; the standard library's :mod:`faulthandler` prints the Python stack of every thread on a
signal, without stopping anything, even while the threads hold the GIL-free C code of TensorFlow. The browser
tests send the signal when a wait times out and put the stacks in their failure message.
"""

from __future__ import annotations

import faulthandler
import signal
import sys

#: The signal that dumps the stacks (``kill -USR1 PID``).
STACK_DUMP_SIGNAL = signal.SIGUSR1

_enabled = False


def enable_stack_dumps() -> bool:
    """Make :data:`STACK_DUMP_SIGNAL` write every thread's stack to standard error (the server's log).

    Idempotent and cheap (call it on every page run); it may be called from any thread.

    Returns:
        Whether the dump is on (``False`` where the platform has no such signal handling, e.g. Windows).
    """
    global _enabled
    if not _enabled:
        try:
            faulthandler.register(STACK_DUMP_SIGNAL, file=sys.stderr, all_threads=True, chain=False)
        except (AttributeError, ValueError, RuntimeError, OSError):  # no register() or no usable stderr here
            return False
        _enabled = True
    return True
