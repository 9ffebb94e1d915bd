"""AppTest layer: see tests/support/apptest.py for the helper every page test uses."""
