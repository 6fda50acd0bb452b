"""The pages' views, by feature: `app` is what every page shares, each other folder one feature.

A feature (``train``, ``runs``, ``evaluate``, ``classroom``, ``data``, ``sweeps``, ``lessons``)
holds its views and, beside them, its figures; it may import `app` and the features below it,
never the other way round.
"""
