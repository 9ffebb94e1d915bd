"""The Inside page: ``activations`` (every layer's output, filter slices), ``saliency`` (gradient saliency,
Grad-CAM), ``evaluation`` (test-split metrics, PCA, the confusion-cell rules), ``backprop`` (one optimizer
step seen through one filter: dL/dW and how it is built), ``neighbours`` (nearest training images in the
penultimate layer), ``excite`` (each filter's strongest test patches and activation-maximisation picture),
``captions`` (the page's sentences), ``figures``, and the Streamlit layer: ``widgets`` (per-model-version
caches, the image chooser) and the page's ``sections``.
"""
