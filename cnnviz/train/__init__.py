"""The Train page: the CNN specification and its layer plan (spec), the equivalent Keras script (script),
the training loop (loop) and its Keras callbacks (callbacks), the child-process worker with its heartbeat
(worker), the run bookkeeping and outcome messages (session), the time estimate and teacher limits
(estimate), repeats over seeds (repeats), the first layer's live feature maps (live_maps), training
figures (figures) and widgets (widgets).
"""
