"""Scripts and helpers used by the maintainers, tests and benchmarks, never by the studio at run time:
data augmentation and synthetic sketches, training the shipped models, the reliability report, and the
browser and server helpers of the end-to-end tests and the load test.
"""
