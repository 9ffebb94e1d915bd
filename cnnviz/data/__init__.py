"""The Data page: dataset ``stats``, their ``figures``, and ``widgets`` (cached summaries and the page's sections).
"""
