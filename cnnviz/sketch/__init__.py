"""The Sketch page: MNIST-style ``preprocess``ing of drawings and photos, ``figures``, the canvas and
upload ``widgets`` and the page's ``sections``.
"""
