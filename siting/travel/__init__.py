"""Travel times: the routing engine (customisable contraction hierarchies and
Dijkstra), road networks loaded for it without networkx and saved prepared networks, OD
matrix points, blocks and the `ODMatrix`, the straight-line model; GTFS feeds read into a
day's timetable and RAPTOR over it.

May import only the layers below it; uses `siting._core` and `siting.roads`.
"""
