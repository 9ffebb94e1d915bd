"""What tests share: paths, small hand-built models, tiny training data, AppTest and browser helpers.

Tests import only from here (and the code under test), never from another test module.
"""
