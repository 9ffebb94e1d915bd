"""The Inside page: activations, saliency, evaluation, their figures and widgets.
"""
