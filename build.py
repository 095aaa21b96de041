#!/usr/bin/env python3
"""Entry point: ``python build.py [build|check|serve] ...``; see ``--help``."""

import sys

from digest.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
