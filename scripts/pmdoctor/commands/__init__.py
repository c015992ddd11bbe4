"""Commands: each wires the pipeline stages together for one job, and decides nothing else.

``check`` (the default) analyses build directories, ``triage`` loose forum
attachments, ``migrate`` writes devicetree overlays for a Partition Manager
layout. ``cli.py`` parses the command line and calls them; a script can call
them too.
"""
