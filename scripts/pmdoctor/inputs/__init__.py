"""Inputs: what pmdoctor may read, and where it finds it.

Everything here decides *which* files are inputs; nothing parses them.
"""
