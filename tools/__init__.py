"""Scripts and helpers used by the maintainers, tests and benchmarks, never by the studio at run time:
data augmentation and synthetic sketches, training the shipped models, the reliability report.
"""
