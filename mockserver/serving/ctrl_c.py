"""Ctrl-C taken back from a parent that ignored it: a leaf module (nothing of bgmock's, nothing
heavy), so that both the console script (``launch.py``, before it imports the command) and
``cli.entry`` (``python -m mockserver.cli``) can call it first.

A shell script that starts ``bgmock serve &`` (bash without job control, and most other ways of
starting a background job) starts it with SIGINT *ignored*, and Python keeps an ignored SIGINT
ignored: until ``bgmock serve`` installed its own handler a SIGINT was silently lost, and the
fake went on to serve.
"""

from __future__ import annotations

import signal


def take_ctrl_c() -> None:
    """SIGINT raises ``KeyboardInterrupt`` again if whoever started the process ignored it."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


__all__ = ["take_ctrl_c"]
