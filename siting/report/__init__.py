"""What people open: Leaflet maps and their layers, words in Swedish and English,
raster cells, local assets, page security policies, comparison pages and the published site.

May import only the layers below it; uses `siting._core`, `siting.roads`, `siting.travel`
and `siting.inputs`.
"""
