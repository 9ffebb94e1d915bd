"""The data lab's controls on the Train page, and the note under a trained model that points to its confusion matrix.

The damage itself is pure and tested in :mod:`cnnviz.train.datalab`; these widgets only choose its settings
(:func:`datalab_controls`, merged into the :class:`cnnviz.train.loop.TrainConfig` by the caller) and explain it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from cnnviz.core.records import describe_datalab
from cnnviz.train.loop import TrainConfig
from cnnviz.ui.links import link_button

INSIDE_PAGE = "pages/inside.py"
TRAIN_PAGE = "pages/train.py"

HELP = {
    "label_noise": "The share of training labels replaced at random with a different class, as if a hurried "
    "annotator had mislabelled them. The network learns the mistakes too: training accuracy cannot reach 100%, "
    "and with much noise the validation loss rises as it memorises wrong labels. Small amounts barely hurt the "
    "test accuracy: the true class is still the most common label for each kind of image.",
    "imbalance_classes": "Classes that keep only a share of their training images (the other classes keep all of "
    "theirs). A class the network seldom sees is seldom predicted: its row of the confusion matrix fills with "
    "other classes, while the overall accuracy may hardly move.",
    "imbalance_keep": "The share of the chosen classes' training images that stays. 0% removes them from training "
    "altogether: the network can then never predict them, however clear a test image is.",
}


def _class_label(class_names: Sequence[str], index: int) -> str:
    name = str(class_names[index])
    return name if name == str(index) else f"{index} · {name}"


def datalab_controls(key: str, class_names: Sequence[str]) -> dict[str, Any]:
    """Show the data lab in an expander and return its settings as :class:`~cnnviz.train.loop.TrainConfig` fields.

    Args:
        key: the prefix of the widget keys (``f"{key}_label_noise"``, ``..._imbalance_classes``,
            ``..._imbalance_keep``).
        class_names: one display name per class of the chosen dataset.

    Returns:
        ``{"label_noise", "imbalance_classes", "imbalance_keep"}``, ready for ``dataclasses.replace(config, **...)``;
        the defaults (nothing damaged) until the learner changes something.
    """
    defaults = TrainConfig()
    with st.expander("Data lab: damage the data on purpose", icon=":material/science:"):
        st.caption(
            "Real datasets have wrong labels and rare classes. Damage the training images on purpose and see what "
            "it does to the curves, the test accuracy and the confusion matrix. Only the training part is "
            "damaged: the validation and test images keep their true labels, so they still measure the real task. "
            "The third knob of the lab is **Training images** above: fewer images, worse generalisation."
        )
        noise = st.slider("Label noise", 0.0, 0.9, float(defaults.label_noise), 0.05, format="percent",
                          key=f"{key}_label_noise", help=HELP["label_noise"])
        classes = st.multiselect(
            "Rare classes", list(range(len(class_names))), key=f"{key}_imbalance_classes",
            format_func=lambda index: _class_label(class_names, index),
            max_selections=max(len(class_names) - 1, 1), placeholder="None: every class keeps all its images",
            help=HELP["imbalance_classes"],
        )
        keep = st.slider("Share of their images kept", 0.0, 1.0, 0.1, 0.05, format="percent",
                         key=f"{key}_imbalance_keep", disabled=not classes, help=HELP["imbalance_keep"])
        settings = {
            "label_noise": round(float(noise), 2),
            "imbalance_classes": tuple(sorted(int(index) for index in classes)),
            "imbalance_keep": round(float(keep), 2) if classes else float(defaults.imbalance_keep),
        }
        summary = describe_datalab(settings, class_names)
        if summary == "clean":
            st.caption("Nothing is damaged: the network trains on the dataset as it is.")
        else:
            st.caption(f"This run will train on damaged data: **{summary}**. Train once clean and once damaged with "
                       "the same seed, then compare the two runs below.")
    return settings


def datalab_result_note(config: Mapping[str, Any] | None, class_names: Sequence[str], *,
                        key: str = "train_datalab_inside") -> None:
    """Under a trained model: say how its data was damaged (if it was) and open Inside to see its confusion matrix.

    Args:
        config: the settings of the run that trained the model (``RunRecord.config``), or ``None`` if unknown.
        class_names: the dataset's class names (to name thinned-out classes).
        key: the link button's widget key.
    """
    summary = describe_datalab(config or {}, class_names)
    if summary != "clean":
        st.caption(f"This model trained on data damaged on purpose (**{summary}**). Its confusion matrix shows "
                   "where the damage went: a rare class is mostly predicted as something else, while noisy labels "
                   "spread small numbers over every cell. Compare it with a run on clean data.")
    else:
        st.caption("Which classes does it confuse? The confusion matrix of its test images, on Inside under "
                   "**Evaluation**, shows each true class's row of predictions.")
    link_button("See its confusion matrix on Inside", INSIDE_PAGE, {}, origin=TRAIN_PAGE, key=key,
                icon=":material/grid_on:",
                help="Opens Inside, where this session's model is the first choice: pick **Evaluation** to see every "
                "test image's true class against the predicted one.")
