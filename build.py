#!/usr/bin/env python3
"""Entry point: ``python build.py [build|check|serve] ...``; see ``--help``."""

from digest.cli import entry_point

if __name__ == "__main__":
    entry_point()
