"""Entry script of the frozen app: the same ``main`` as the ``desktop-sd`` command."""

import multiprocessing
import sys

from desktop_sd.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not start the app again
    sys.exit(main())
