"""Plotly figure builders. Every function returns a ``plotly.graph_objects.Figure``."""
