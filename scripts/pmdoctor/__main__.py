"""``python -m pmdoctor``.

``python -m`` puts the current directory first on ``sys.path``. A support
engineer often runs pmdoctor inside a stranger's attachment, whose
``yaml.py``, ``colorama.py`` or ``devicetree/`` would then be imported in
place of the real ones: code from an input would run. The package itself is
already imported when this runs, so taking the current directory off the
path changes nothing else.
"""

import os
import sys

_HERE = {"", ".", os.getcwd()}
sys.path[:] = [entry for entry in sys.path if entry not in _HERE]

from .cli import main  # noqa: E402  (after the path is made safe)

main()
