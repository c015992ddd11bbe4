"""The fix stage: turning diagnoses into edits of the user's files, checked before they are offered.

``migrate`` plans devicetree overlays that keep a Partition Manager layout
and checks them by a round trip; ``write`` is the one place that writes
into the user's tree.
"""
