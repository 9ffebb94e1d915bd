"""The Sketch page: MNIST-style preprocessing of drawings and photos, figures and widgets.
"""
