"""What tests share: paths, the AppTest helper, small hand-built models and tiny training data.

Tests import only from here (and the code under test), never from another test module; the
import-linter contracts in pyproject.toml check it. Browser and server helpers, which the load
test uses too, live in ``tools/browser.py`` and ``tools/streamlit_server.py``.
"""
