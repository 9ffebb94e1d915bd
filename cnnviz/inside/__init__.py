"""The Inside page: ``activations`` (every layer's output, filter slices), ``saliency`` (gradient saliency,
Grad-CAM), ``evaluation`` (test-split metrics, PCA, the confusion-cell rules), ``captions`` (the page's
sentences), ``figures``, and the Streamlit layer: ``widgets`` (per-model-version caches, the image chooser)
and the page's ``sections``.
"""
