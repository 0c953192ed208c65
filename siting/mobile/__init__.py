"""Mobile offices: covering tours of a vehicle that stops in villages on fixed days,
searched with PyVRP rounds and a local search on the exact objective; the `MobilePlan`.

May import only the layers below it; uses `siting._core`, `siting.roads`, `siting.travel`
and `siting.locate`.
"""
