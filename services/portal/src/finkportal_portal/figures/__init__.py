"""Pure figure builders: data in, ``plotly.graph_objects.Figure`` out (no Dash, no HTTP)."""
