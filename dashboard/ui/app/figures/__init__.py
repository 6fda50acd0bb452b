"""Figure helpers every feature shares: colours and label escaping (`style`), digit images.

A feature's own figures live beside its views (``<feature>/figures``). Each builder takes plain
arrays, tidy DataFrames or records and returns a ``plotly.graph_objects.Figure``; none calls
streamlit, so a page decides where and how a figure is shown.

A feature's ``shared_figures`` caches the figures that many sessions show, built once per version
of what they show. A figure cached as a resource is one object that every session's
``st.plotly_chart`` reads; cached as data it would be a pickled copy per session, which plotly
re-validates, and rebuilding it costs a class's server more than the rest of the page. Each key
holds the version of the file the figure shows (its modification time, or `runs.file_version`),
so a new epoch or a new evaluation builds a new figure. Nothing cached there may be modified
after it is returned.
"""
