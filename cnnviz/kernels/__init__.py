"""The Kernels page: NumPy convolution, activation and pooling, their step-by-step
explanation, presets, figures and widgets.
"""
