"""Errors and warnings, atomic writes and output folders, saved folders' manifests, data-file
paths, option validators, file-safe names, the version.

The floor of the house: every other layer may import it; it imports nothing of siting and
nothing heavier than the standard library, so the CLI and `import siting` stay light.
"""
