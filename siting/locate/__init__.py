"""Location optimisation: problem instances, exact MIP (HiGHS), coverage (LSCP, MCLP),
p-median and p-center with a Lagrangian bound and interchange search, the radius
formulation, enumeration of few site sets and covering reductions, closures,
near-optimal alternatives and trade-off curves; one entry point, `solve`. Also what a plan is
measured by: distance decay (attendance), equity measures and accessibility indices.

May import only the layers below it; uses `siting._core` and `siting.travel` (the `ODMatrix`
it solves over).
"""
