"""Scenarios end to end: the TOML format and its checks, typed problem parameters,
the pipeline behind `siting run`, run comparison and the offline demo.

May import only the layers below it; uses all of them.
"""
