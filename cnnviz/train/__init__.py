"""The Train page: the CNN specification and its layer plan (spec), the equivalent Keras script (script),
the training loop (loop) and its Keras callbacks (callbacks), the child-process worker (worker), the run
bookkeeping (session), training figures (figures) and widgets (widgets).
"""
