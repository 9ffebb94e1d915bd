"""The Data page: dataset statistics, their figures and widgets.
"""
