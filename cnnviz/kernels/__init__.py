"""The Kernels page: ``ops`` (NumPy convolution, activation, pooling), ``explain`` (the arithmetic behind a
value), ``presets`` (the editor's kernels), ``bank`` (the editor's rules), ``figures``, and the Streamlit
layer: ``editor``, ``controls`` and the page's ``sections``.
"""
