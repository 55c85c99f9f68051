"""The temporary Prefect server's process: uvicorn, tied to the run that started it so it never outlives it."""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Exit as soon as the parent is gone: at once on Linux (the kernel's death signal), else within a second."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the watchdog below covers it

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    if os.getppid() != parent:  # the run died before the death signal was armed
        os._exit(0)
    threading.Thread(target=watch, name="leadgate-server-watchdog", daemon=True).start()


def main() -> None:
    parent, uvicorn_args = int(sys.argv[1]), sys.argv[2:]
    _die_with(parent)
    sys.argv = ["uvicorn", *uvicorn_args]
    runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
