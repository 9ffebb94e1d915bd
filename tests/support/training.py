"""Tiny training data and models: a real ``fit`` in well under a second, and the training children alive."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from cnnviz.train.spec import ConvBlockSpec, ModelSpec, build_model

#: One conv block of 4 filters and a dense layer of 8: learns the two tiny classes in one epoch.
TINY_SPEC = ModelSpec(conv_blocks=(ConvBlockSpec(filters=4, pooling="max"),), dropout=0.0, dense_units=(8,))


@dataclass
class TinyData:
    """Two classes that a conv net separates at once: a bright left half or a bright right half."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = ("left", "right")


def make_tiny(train: int = 96, test: int = 32, seed: int = 0) -> TinyData:
    rng = np.random.default_rng(seed)

    def images(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 2, count)
        x = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
        for index, label in enumerate(labels):
            if label == 0:
                x[index, :, :14] += 180
            else:
                x[index, :, 14:] += 180
        return x, labels

    x_train, y_train = images(train)
    x_test, y_test = images(test)
    return TinyData(x_train, y_train, x_test, y_test)


def fresh_model(seed: int = 0):
    return build_model(TINY_SPEC, 2, seed=seed)


def training_children() -> set[int]:
    """Process ids of this process's live training children, from /proc (other children, such as an
    e2e test's server still running in the same pytest session, are not counted, nor is the warm worker's
    ready child, which an AppTest of the Train page starts and which waits for a job, training nothing)."""
    from cnnviz.train.worker import warm_worker_pid

    me = os.getpid()
    ready = warm_worker_pid()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z" and b"cnnviz.train.worker" in command and int(entry) != ready:
            found.add(int(entry))
    return found
