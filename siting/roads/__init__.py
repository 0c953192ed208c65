"""Road networks from OpenStreetMap: reading ways, the drive filter, speeds, ferries,
the graph build (as networkx or as flat arrays), snapping points to roads, the network cache.

May import only the layers below it; uses `siting._core` and `siting.download` (Overpass by
place name).
"""
