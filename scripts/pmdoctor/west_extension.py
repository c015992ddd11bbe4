"""The file west loads for ``west pmdoctor`` when a project's path is this installed package.

West imports an extension file by its path, outside any package, so this
file imports the package by name. When the package is not on the Python
path west runs with (``pip install --target`` into the workspace), the folder
holding it is appended: last, so that it never shadows anything installed.
"""

import sys
from pathlib import Path

try:
    from pmdoctor.west_command import PmDoctor
except ImportError:
    sys.path.append(str(Path(__file__).resolve().parent.parent))
    from pmdoctor.west_command import PmDoctor

__all__ = ["PmDoctor"]
