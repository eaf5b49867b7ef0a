"""The ``bgmock`` console script's first code: Ctrl-C taken before anything heavy is imported.

A shell script that starts ``bgmock serve &`` (bash without job control, and most other ways of
starting a background job) starts it with SIGINT *ignored*; Python keeps an ignored SIGINT
ignored, so until ``bgmock serve`` installed its own handler (after ~0.1-0.4 s of imports and
start-up) a SIGINT was silently lost, and the fake went on to serve. Here the console script
gives SIGINT Python's usual meaning (``KeyboardInterrupt``) before it imports the command, so a
SIGINT stops it (exit code 130) from the first line of bgmock's own code on. What remains is the
interpreter's own start-up (~20 ms, before any of bgmock's code runs), in which an ignored
SIGINT is still lost: a script that must stop the fake at any moment sends SIGTERM, which
nothing ignores (docs/load-and-workers.md, "Stopping").

Only the console script does this: ``cli.main`` run inside another program leaves that
program's handlers as they were. This module imports nothing heavy (``serving/ctrl_c.py``, a leaf).
"""

from __future__ import annotations

import signal
import sys

from .serving.ctrl_c import take_ctrl_c


def entry() -> None:
    """The ``bgmock`` command: ``cli.entry``, with Ctrl-C taken first (a Ctrl-C while the command
    is imported ends it quietly with the shell's code for it, 130, as one while it starts does)."""
    take_ctrl_c()
    try:
        from .cli import entry as run
    except KeyboardInterrupt:
        sys.exit(128 + signal.SIGINT)
    run()


if __name__ == "__main__":  # pragma: no cover
    entry()
