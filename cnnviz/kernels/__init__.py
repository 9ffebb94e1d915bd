"""The Kernels page: ``ops`` (NumPy convolution, activation, pooling), ``explain`` (the arithmetic behind a
value), ``presets`` (the editor's kernels), ``bank`` (the editor's rules), ``linked`` (a kernel
linked from Inside, checked), ``animation``, ``figures``, and the Streamlit
layer: ``editor``, ``controls`` and the page's ``sections``.
"""
