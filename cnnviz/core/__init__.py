"""Streamlit-free building blocks every feature shares: datasets, MNIST framing, the model-input
contract and prediction, the model store, uploads, records and common Plotly helpers.
"""

__version__ = "0.1.0"
