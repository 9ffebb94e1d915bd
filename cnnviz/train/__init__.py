"""The Train page: the CNN specification and its layer plan, the training loop and its
child-process worker, training figures and widgets.
"""
