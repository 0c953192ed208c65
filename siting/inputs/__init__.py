"""Demand and supply: tables and layers read as they are (`tables`), their coordinates
checked and brought to SWEREF99 TM (`coordinates`), population grids, office and candidate
sites, Swedish regions (municipalities, counties, FA regions), and SCB's grid clipped to a
region.

May import only the layers below it; uses `siting._core`, `siting.download` (SCB's WFS) and
`siting.roads` (sites snapped to roads).
"""
