"""Fetch real data from the internet: HTTP with resume and checksums, Geofabrik OSM
extracts, Overpass queries by place, SCB's population grid WFS.

May import only the layers below it; uses `siting._core`.
"""
