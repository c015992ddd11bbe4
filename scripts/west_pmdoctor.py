"""West extension entry point named in west-commands.yml.

The pmdoctor package next to this file is used when the repository is a
project in the west manifest (no pip needed); otherwise the pip-installed
package is.
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if (Path(_HERE) / "pmdoctor" / "__init__.py").is_file() and _HERE not in sys.path[:1]:
    sys.path.insert(0, _HERE)

from pmdoctor.west_command import PmDoctor  # noqa: E402

__all__ = ["PmDoctor"]
