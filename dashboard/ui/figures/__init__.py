"""Every plotly figure of the dashboard, one module per topic.

Each builder takes plain arrays, tidy DataFrames or records and returns a
``plotly.graph_objects.Figure``; none calls streamlit, so a page decides where and how a figure
is shown. Colours and label escaping shared by several topics live in `style`.
"""
