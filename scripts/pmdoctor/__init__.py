"""west-pmdoctor: find what is wrong with a Zephyr / nRF Connect SDK flash layout.

The library API is :func:`pmdoctor.api.analyze`; the ``pmdoctor`` command and
``west pmdoctor`` are thin shells over :func:`pmdoctor.cli.run`.
"""

__version__ = "0.1.0"
