"""The guided lessons: the classic tutorials the studio grew from, as data.

Each :class:`Lesson` is 3-6 short :class:`Step` s. A step says what to do in a sentence or two and
names the page that does it with its **share-link parameters** (:mod:`cnnviz.core.share`; the names
are those of the Train, Kernels and Sketch tables, e.g. ``{"blocks": "2", "opt": "adadelta"}``), so
its button opens that page already set up. A link describes a whole page: what it does not name
starts at its default. Before a step that trains or changes a setting, a :class:`Question` asks the
learner to predict the outcome; its ``reveal`` reads the learner's own runs of this session
(:class:`cnnviz.core.records.RunRecord`, latest last) and answers with their numbers.

The facts are the tutorials' own (issue 13). Where the Train page cannot express a setting of a
tutorial (the Keras MNIST tutorial's second dropout, a printed AUC), the step says so.

Pure Python: no Streamlit (the page is :mod:`cnnviz.lessons.widgets`), no other feature package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cnnviz.core.records import RunRecord

#: The pages a step can open, by script path (as in cnnviz.ui.pages.PAGES).
TRAIN, KERNELS, SKETCH, DATA, INSIDE = (
    "pages/train.py", "pages/kernels.py", "pages/sketch.py", "pages/data.py", "pages/inside.py",
)

Reveal = Callable[[Sequence[RunRecord]], str]


@dataclass(frozen=True)
class Question:
    """A predict-then-reveal question: the learner answers first, then sees what happened in their own run.

    Attributes:
        prompt: the question, e.g. "Will dropout 0.5 raise or lower the training accuracy?".
        choices: the possible answers, 2-4 short phrases.
        reveal: the explanation, from the learner's runs (latest last); says what to do when there is no run yet.
    """

    prompt: str
    choices: tuple[str, ...]
    reveal: Reveal


@dataclass(frozen=True)
class Step:
    """One step of a lesson.

    Attributes:
        text: what to do and why, Markdown, a few sentences.
        page: the page the button opens (a script path: :data:`TRAIN`, :data:`KERNELS`...).
        params: that page's share-link parameters (``{}``: the page as the learner left it).
        button: the button's label.
        question: asked before the step, or ``None``.
    """

    text: str
    page: str
    button: str
    params: Mapping[str, str] = field(default_factory=dict)
    question: Question | None = None


@dataclass(frozen=True)
class Lesson:
    """A lesson: a tutorial retold in the studio.

    Attributes:
        slug: a short identifier (``"first-cnn"``), used for the learner's progress.
        title: e.g. "Your first CNN".
        source: the tutorial it retells, in words.
        summary: one sentence: what the learner will see.
        steps: 3-6 steps.
    """

    slug: str
    title: str
    source: str
    summary: str
    steps: tuple[Step, ...]


# --------------------------------------------------------------------------------------------
# Reading the learner's runs
# --------------------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def finished_runs(runs: Iterable[Any], dataset: str | None = None) -> list[RunRecord]:
    """The runs with at least one finished epoch (optionally on ``dataset``), oldest first."""
    return [run for run in runs if isinstance(run, RunRecord) and run.history.get("accuracy")
            and (dataset is None or run.dataset == dataset)]


def final(run: RunRecord, metric: str) -> float | None:
    """The last epoch's value of ``metric`` (``"accuracy"``, ``"val_accuracy"``...), or ``None``."""
    values = run.history.get(metric) or []
    return float(values[-1]) if values else None


def _test_accuracy(run: RunRecord) -> float | None:
    value = run.test_metrics.get("accuracy")
    return float(value) if isinstance(value, (int, float)) else None


NO_RUN = ("You have no finished run yet: train with the button above, then come back and reveal again. "
          "Until then, here is what usually happens: ")


def _describe(run: RunRecord) -> str:
    """'Run 3 (mnist, 12 epochs): training accuracy 97.1%, validation 98.4%, test 98.2%.'"""
    parts = [f"training accuracy {_pct(final(run, 'accuracy') or 0)}"]
    if final(run, "val_accuracy") is not None:
        parts.append(f"validation {_pct(final(run, 'val_accuracy') or 0)}")
    if _test_accuracy(run) is not None:
        parts.append(f"test {_pct(_test_accuracy(run) or 0)}")
    epochs = len(run.history.get("accuracy", []))
    return f"{run.label} ({run.dataset}, {epochs} epoch{'s' if epochs != 1 else ''}): {', '.join(parts)}."


def reveal_train_vs_validation(runs: Sequence[RunRecord]) -> str:
    """Training accuracy is measured with dropout on and averaged over the epoch; validation with dropout off."""
    why = ("Keras measures the training accuracy *during* the epoch, with dropout switching units off and while the "
           "weights are still improving; the validation accuracy is measured at the end of the epoch with every unit "
           "on. With dropout, the training accuracy is usually **below** the validation accuracy.")
    done = finished_runs(runs)
    if not done:
        return NO_RUN + why
    run = done[-1]
    train, val = final(run, "accuracy"), final(run, "val_accuracy")
    if val is None:
        return f"Your latest run had no validation split, so there is nothing to compare. {why}"
    side = "below" if train < val else "above"  # type: ignore[operator]
    return (f"Your latest run: {_describe(run)} Training ended {side} validation by "
            f"{abs(100 * (train - val)):.1f} points. {why}")  # type: ignore[operator]


def reveal_more_dropout(runs: Sequence[RunRecord]) -> str:
    """Compares the two latest runs' training accuracy: more dropout lowers it."""
    why = ("More dropout switches off more units during training, so the network fits the training images less "
           "well *while it trains*: the training accuracy goes **down**, the gap to the validation accuracy shrinks "
           "or flips, and the test accuracy often stays about the same.")
    done = finished_runs(runs)
    if len(done) < 2:
        first = "Train once with dropout 0.25 and once with 0.5 to compare your own numbers. "
        return (first if done else NO_RUN) + why
    before, after = done[-2], done[-1]
    drop_before, drop_after = before.spec.get("dropout"), after.spec.get("dropout")
    change = (final(after, "accuracy") or 0) - (final(before, "accuracy") or 0)
    return (f"{_describe(before)} {_describe(after)} Dropout {drop_before} -> {drop_after}: training accuracy "
            f"{'+' if change >= 0 else ''}{100 * change:.1f} points. {why}")


def reveal_small_network(runs: Sequence[RunRecord]) -> str:
    """How close a 2-layer network with no pooling and no dense layer comes to the tutorial's 97.06%."""
    why = ("The tutorial reports **97.06%** on MNIST's test set with just two small convolutions and a softmax: "
           "the convolutions do most of the work, and a small network trained on all 60,000 images is already good.")
    done = finished_runs(runs, "mnist")
    if not done:
        return NO_RUN + why
    run = done[-1]
    params = f" with {run.total_params:,} parameters" if run.total_params else ""
    images = run.config.get("train_size")
    return (f"Your latest MNIST run{params}: {_describe(run)}"
            + (f" It trained on {images:,} images." if isinstance(images, int) else "") + " " + why)


def reveal_early_stopping(runs: Sequence[RunRecord]) -> str:
    """Whether early stopping ended the latest run before its last epoch."""
    why = ("Early stopping watches the validation loss; when it has not improved for *patience* epochs the run ends, "
           "and with 'Restore best weights' the model goes back to its best epoch, which is what ModelCheckpoint's "
           "best-only file keeps in the tutorial.")
    done = finished_runs(runs)
    if not done:
        return NO_RUN + why
    run = done[-1]
    planned, ran = run.config.get("epochs"), len(run.history.get("accuracy", []))
    losses = run.history.get("val_loss") or []
    best = (1 + min(range(len(losses)), key=losses.__getitem__)) if losses else None
    told = f"It ran {ran} of {planned} epochs" if planned else f"It ran {ran} epochs"
    return (f"Your latest run: {_describe(run)} {told}" + (f"; its best validation loss was at epoch {best}." if best
                                                             else ".") + " " + why)


def reveal_sketch(runs: Sequence[RunRecord]) -> str:
    """The test accuracy of the latest MNIST run next to why a drawing is harder."""
    why = ("A drawing is read well only once it looks like MNIST: light ink on black, cropped to the ink, scaled into "
           "a 20x20 box and centred by its centre of mass in 28x28. Even then, your handwriting is not the writers' "
           "of MNIST, so expect a few mistakes that the test accuracy does not predict.")
    done = finished_runs(runs, "mnist")
    if not done:
        return NO_RUN + why
    return f"Your latest MNIST run: {_describe(done[-1])} " + why


def reveal_harder_data(runs: Sequence[RunRecord]) -> str:
    """The latest Fashion-MNIST run against the latest MNIST run."""
    why = ("Fashion-MNIST is harder: a shirt, a T-shirt, a pullover and a coat share their outline and differ in "
           "texture and details that 28x28 grey pixels barely keep, while digits differ in their strokes. The same "
           "network scores lower, and its mistakes sit between those similar classes (see the confusion matrix on "
           "Inside).")
    fashion, mnist = finished_runs(runs, "fashion_mnist"), finished_runs(runs, "mnist")
    if not fashion:
        return NO_RUN + why
    text = f"Fashion-MNIST: {_describe(fashion[-1])} "
    if mnist:
        text += f"MNIST: {_describe(mnist[-1])} "
    return text + why


def changed_settings(before: RunRecord, after: RunRecord) -> list[str]:
    """What differs between two runs' settings, e.g. ``["train_size 8000 -> 30000", "dataset mnist -> kmnist"]``."""
    changes = [f"dataset {before.dataset} -> {after.dataset}"] if before.dataset != after.dataset else []
    for old, new in ((before.spec, after.spec), (before.config, after.config)):
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name) and not isinstance(new.get(name), (list, dict)):
                changes.append(f"{name} {old.get(name)} -> {new.get(name)}")
    return changes


def compare_latest(why: str) -> Reveal:
    """A reveal comparing the learner's two latest runs: what changed, and the test accuracy and epochs of each."""

    def reveal(runs: Sequence[RunRecord]) -> str:
        done = finished_runs(runs)
        if len(done) < 2:
            first = "Train once before the change and once after it, to compare your own numbers. "
            return (first if done else NO_RUN) + why
        before, after = done[-2], done[-1]
        changes = changed_settings(before, after)
        text = f"{_describe(before)} {_describe(after)} "
        if changes:
            text += f"What changed: {'; '.join(changes[:4])}. "
        old, new = _test_accuracy(before), _test_accuracy(after)
        if old is not None and new is not None:
            text += f"Test accuracy {'+' if new >= old else ''}{100 * (new - old):.1f} points. "
        return text + why

    return reveal


def parameters_reveal(dataset: str, expected: int, why: str) -> Reveal:
    """A reveal giving the parameter count of the learner's latest run on ``dataset`` (the design has ``expected``)."""

    def reveal(runs: Sequence[RunRecord]) -> str:
        done = [run for run in finished_runs(runs, dataset) if run.total_params]
        mine = f"Your latest {dataset} run's network had {done[-1].total_params:,} parameters. " if done else ""
        return f"{mine}This design has **{expected:,}** parameters (see *Parameters* on the Train page). {why}"

    return reveal


def reveal_pooling(_: Sequence[RunRecord]) -> str:
    """Max pooling keeps a thresholded line."""
    return ("Yes: a 2x2 window holding any 1 keeps 1, so each line survives, half as wide and half as tall (26x26 -> "
            "13x13). The map forgets the exact pixel but keeps *roughly where* each kind of line is, which is all the "
            "next layer needs and what makes the network tolerate small shifts.")


def reveal_products(_: Sequence[RunRecord]) -> str:
    """Nine products and a sum per output pixel."""
    return ("9: one product per weight of the 3x3 kernel, added up (plus the bias). Section 5 shows the nine products "
            "of any output pixel you click; a 28x28 image with a 3x3 kernel and 'valid' padding gives 26x26 = 676 "
            "such sums per kernel.")


def reveal_sketch_free_accuracy(runs: Sequence[RunRecord]) -> str:
    """The test accuracy of the latest MNIST run."""
    why = ("Three small conv + pooling blocks usually reach about 98% on MNIST's test set in a few epochs of 8,000 "
           "images; the last errors are digits that people, too, find ambiguous.")
    done = finished_runs(runs, "mnist")
    return (f"Your latest MNIST run: {_describe(done[-1])} " if done else NO_RUN) + why


def reveal_kernels(_: Sequence[RunRecord]) -> str:
    """The line filters need no training: the reveal is in the picture itself."""
    return ("Look at the maps: the diagonal filter `[[2,-1,-1],[-1,2,-1],[-1,-1,2]]` answers most where the stroke "
            "runs from top-left to bottom-right, the horizontal one on the 2's flat base. A filter responds where the "
            "image looks like it: 2 along its line, -1 beside it, so a plain area (all the same value) gives 0.")


def reveal_threshold(_: Sequence[RunRecord]) -> str:
    """What a +2 threshold keeps."""
    return ("Only a few pixels survive: a 3x3 line filter gives at most 2·3 = 6 on a bright line over a dark "
            "background (pixels in 0..1), and +2 keeps only places where the line really matches. The thresholded "
            "map is 1 there and 0 elsewhere, a clean drawing of where each kind of line is.")


# --------------------------------------------------------------------------------------------
# The lessons
# --------------------------------------------------------------------------------------------

#: The Keras MNIST tutorial's network on the Train page: Conv 32, Conv 64 (3x3, ReLU, 'valid' as Keras's default),
#: 2x2 max pooling, dropout 0.25, Dense 128, softmax; Adadelta at its learning rate of the time, 1.0; 12 epochs of
#: batches of 128; no early stopping.
FIRST_CNN = {
    "data": "mnist", "blocks": "2", "b1f": "32", "b1p": "valid", "b1pool": "none", "b2f": "64", "b2p": "valid",
    "b2pool": "max", "drop": "0.25", "dense": "1", "u1": "128", "opt": "adadelta", "lr": "1", "sched": "constant",
    "batch": "128", "epochs": "12", "early": "0",
}
#: The same with the tutorial's other dropout rate, 0.5.
FIRST_CNN_DROPOUT = {**FIRST_CNN, "drop": "0.5"}
#: Conv2D 16 then Conv2D 8 (3x3, ReLU, no pooling), Flatten, softmax; Adam at Keras's default rate (constant) and
#: batch size; 5 epochs.
SMALL_CNN = {
    "data": "mnist", "blocks": "2", "b1f": "16", "b1p": "valid", "b1pool": "none", "b2f": "8", "b2p": "valid",
    "b2pool": "none", "drop": "0", "dense": "0", "opt": "adam", "lr": "0.001", "sched": "constant", "batch": "32",
    "epochs": "5", "early": "0",
}
#: Three conv + pooling blocks (the Train page's default network) on MNIST.
THREE_BLOCKS = {"data": "mnist", "blocks": "3"}
#: Kuzushiji-MNIST with early stopping on the validation loss; 0.2 of the training images validate, the
#: original's 48,000/12,000 proportion; Adam at Keras's default rate (constant) and batch size.
KMNIST = {"data": "kmnist", "val": "0.2", "epochs": "20", "early": "1", "patience": "3", "restore": "1", "lr": "0.001",
          "sched": "constant", "batch": "32"}
#: The four line filters (the Kernels page's starting bank) on a handwritten 2 from MNIST.
LINES = {"src": "dataset", "data": "mnist", "cls": "2", "kcount": "4", "act": "none"}

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "first-cnn", "Your first CNN", "The Keras MNIST tutorial (mnist_cnn.py)",
        "Build the tutorial's network, train it for 12 epochs and see what dropout does to the curves.",
        (
            Step("The tutorial's network: **Conv 32** and **Conv 64** (3x3, ReLU), **2x2 max pooling**, **dropout "
                 "0.25**, **Dense 128**, dropout 0.5, softmax, trained with **Adadelta** for **12 epochs**. The button "
                 "sets all of it on the Train page, except the second dropout (0.5 after Dense 128): the Train page "
                 "has one dropout layer, before the dense layers. Dropping 25% of the pooled maps or of the same "
                 "numbers flattened is the same operation, so the first dropout is exactly the tutorial's.",
                 TRAIN, "Open Train with the tutorial's network", FIRST_CNN,
                 Question("How many parameters (weights and biases) does the tutorial's network have?",
                          ("About 100,000", "About 1.2 million", "About 10 million"),
                          parameters_reveal("mnist", 1_199_882, "Almost all of them (1,179,776) sit in Dense 128, "
                                            "which reads 12x12x64 = 9,216 numbers: convolutions share a few weights "
                                            "over the whole image, dense layers do not."))),
            Step("Press **Train**. The tutorial turns the labels into one-hot vectors and uses categorical "
                 "cross-entropy; the studio keeps them as class numbers and uses *sparse* categorical cross-entropy, "
                 "which computes the same loss. It trains on 8,000 images instead of 60,000 to keep the run short; "
                 "raise **Training images** for the full tutorial.", TRAIN, "Open Train to press Train", FIRST_CNN,
                 Question("After 12 epochs, will the training accuracy end above or below the validation accuracy?",
                          ("Above", "Below", "About the same"), reveal_train_vs_validation)),
            Step("Now the tutorial's other dropout rate: **0.5**. Train again with the same seed, so dropout is the "
                 "only change, and compare both runs in *Runs in this session*.", TRAIN,
                 "Open Train with dropout 0.5", FIRST_CNN_DROPOUT,
                 Question("Will dropout 0.5 raise or lower the training accuracy?",
                          ("Raise it", "Lower it", "No change"), reveal_more_dropout)),
            Step("Look inside what you trained: the feature maps of each layer for one image and the 32 filters the "
                 "first layer learned.", INSIDE, "Open Inside"),
        ),
    ),
    Lesson(
        "small-is-enough", "Small is enough", "A minimal Keras CNN on MNIST",
        "Two tiny convolutions and a softmax: the tutorial reports 97.06% on MNIST's test set.",
        (
            Step("The network: **Conv2D 16**, then **Conv2D 8** (3x3, ReLU, no pooling), Flatten, softmax: no dense "
                 "layer, no dropout. Trained with **Adam** for **5 epochs**. Look at the parameter count in *Your "
                 "network*: almost all of it is the softmax layer reading 24x24x8 numbers.",
                 TRAIN, "Open Train with the small network", SMALL_CNN),
            Step("Press **Train**.", TRAIN, "Open Train to press Train", SMALL_CNN,
                 Question("The tutorial reports 97.06% on the test set. Will your run come close?",
                          ("Yes, within a point", "No, well below", "It will do better"), reveal_small_network)),
            Step("The tutorial trained on all 60,000 images. Drag **Training images** to the right and train again: "
                 "more data is often worth more than a bigger network.", TRAIN, "Open Train with 30,000 images",
                 {**SMALL_CNN, "n": "30000"},
                 Question("With more training images, will the test accuracy go up?",
                          ("Up", "Down", "No change"),
                          compare_latest("More examples of each digit let the same network generalise better, so the "
                                         "test accuracy usually goes up, by less and less as the set grows. (Where "
                                         "only MNIST's test split is on the server, the studio has 8,000 training "
                                         "images at most, and the slider stops there.)"))),
        ),
    ),
    Lesson(
        "edges-by-hand", "Edges by hand", "The line-filter tutorial",
        "Four 3x3 line filters on a handwritten digit, a threshold of +2, then 2x2 pooling: a CNN's first layer "
        "designed by hand.",
        (
            Step("Four line filters: horizontal, vertical and the two diagonals, each 2 along its line and -1 beside "
                 "it, e.g. the diagonal `[[2,-1,-1],[-1,2,-1],[-1,-1,2]]`. The button applies them to a handwritten 2 "
                 "with no activation yet.", KERNELS, "Open Kernels with the four line filters", LINES,
                 Question("Which filter will answer most strongly along the 2's slanted middle stroke?",
                          ("Diagonal (\\)", "Anti-diagonal (/)", "Horizontal (-)", "Vertical (|)"), reveal_kernels)),
            Step("Add the tutorial's activation: a **threshold of +2** (1 where the sum is above 2, else 0).",
                 KERNELS, "Open Kernels with the threshold", {**LINES, "act": "threshold", "thr": "2"},
                 Question("With a threshold of +2, how much of each map will be left?",
                          ("Most of it", "A few lines", "Nothing"), reveal_threshold)),
            Step("Then **2x2 max pooling**: each 2x2 window keeps its largest value, so a 26x26 map becomes 13x13 and "
                 "still says where each kind of line was, give or take a pixel.", KERNELS,
                 "Open Kernels with pooling", {**LINES, "act": "threshold", "thr": "2", "pool": "max", "psize": "2"},
                 Question("After 2x2 max pooling, will the thresholded lines still be there?",
                          ("Yes, smaller", "No, pooling blurs them away"), reveal_pooling)),
            Step("The diagonal filter alone: watch it slide over the digit (section 4) and read the arithmetic behind "
                 "one output pixel (section 5).", KERNELS, "Open Kernels with the diagonal filter",
                 {**LINES, "kcount": "1", "k1": "line-diagonal", "act": "threshold", "thr": "2", "pool": "max",
                  "anim": "1"},
                 Question("How many multiplications make one output pixel of a 3x3 kernel?", ("3", "9", "27"),
                          reveal_products)),
        ),
    ),
    Lesson(
        "kmnist-callbacks", "Callbacks on Kuzushiji-MNIST", "The Keras callbacks tutorial on KMNIST",
        "Ten hiragana classes, a validation split, and a run that stops itself when it stops improving.",
        (
            Step("**Kuzushiji-MNIST**: 28x28 images of ten cursive hiragana characters. The original splits them "
                 "into 48,000 training, 12,000 validation and 10,000 test images. Have a look at them first.",
                 DATA, "Open Data"),
            Step("The tutorial watches the validation loss with two callbacks: **EarlyStopping** ends the run when it "
                 "stops improving, **ModelCheckpoint** keeps the best epoch's model. On the Train page they are "
                 "*Early stopping* with *Restore best weights*. A validation split of 0.2 keeps the original's 48,000 "
                 "to 12,000 proportion. The tutorial also prints an AUC every epoch; the studio shows accuracy and "
                 "loss instead.", TRAIN, "Open Train on KMNIST with early stopping", KMNIST,
                 Question("With patience 3, will the run use all 20 epochs?",
                          ("Yes, all 20", "No, it stops early"), reveal_early_stopping)),
            Step("Make it impatient: **patience 1**, and train again with the same seed. Compare the two runs' "
                 "validation loss curves in *Runs in this session*.", TRAIN, "Open Train with patience 1",
                 {**KMNIST, "patience": "1"},
                 Question("With patience 1, will the run stop sooner, and will it end better or worse?",
                          ("Sooner and better", "Sooner and worse or the same", "Not sooner"),
                          compare_latest("Patience 1 stops at the first epoch whose validation loss does not improve, "
                                         "often sooner; a noisy epoch can then end a run that would still have "
                                         "improved, so the test accuracy is the same or a little lower."))),
        ),
    ),
    Lesson(
        "own-scribble", "Your own scribble", "The draw-a-digit demo",
        "Train three conv + pooling blocks on MNIST, then draw a digit and see it prepared like MNIST.",
        (
            Step("Three **conv + pooling blocks** (16, 32 and 64 filters; 28 -> 14 -> 7 -> 3 pixels), a dense layer "
                 "and a softmax: press **Train** on the page this opens.", TRAIN, "Open Train with three blocks",
                 THREE_BLOCKS,
                 Question("The tutorial's first CNN has 1.2 million parameters. How many has this one?",
                          ("About 6,000", "About 60,000", "About 1.2 million"),
                          parameters_reveal("mnist", 60_874, "Pooling after every block shrinks the maps to 3x3x64 "
                                            "= 576 numbers, so the dense layer needs only 576x64 + 64 = 36,928 "
                                            "weights, yet the network reaches about 98% on MNIST."))),
            Step("Draw a digit. Before the network sees it, the drawing is prepared the way MNIST was made: grey, "
                 "inverted (light ink on black), cropped to the ink, scaled into a **20x20** box and **centred** by "
                 "its centre of mass in 28x28. Every step is shown under the canvas.", SKETCH,
                 "Open Sketch with your model", {"model": "session"},
                 Question("Will the network read your digits as well as it reads MNIST's test set?",
                          ("As well", "Worse", "Better"), reveal_sketch)),
            Step("Draw a digit small, in a corner, or very thin, and watch the preparation undo most of it. Then look "
                 "inside the network with your drawing (the button under the prediction).", SKETCH,
                 "Open Sketch", {"model": "session"}),
        ),
    ),
    Lesson(
        "harder-data", "Harder data", "The Fashion-MNIST benchmark",
        "The same network on Fashion-MNIST, and why its accuracy is lower.",
        (
            Step("**Fashion-MNIST** has the same format as MNIST (28x28 grey, ten classes, 60,000 + 10,000 images) but "
                 "shows clothes: T-shirts, trousers, pullovers, dresses, coats, sandals, shirts, sneakers, bags, ankle "
                 "boots. Look at a few, and at the average image of each class.", DATA, "Open Data"),
            Step("Train the network of *Your own scribble* (three conv + pooling blocks) on MNIST first, if you have "
                 "not yet, so you have a number to compare with.", TRAIN, "Open Train on MNIST", THREE_BLOCKS,
                 Question("Will it reach 98% on MNIST's test set?", ("Yes", "No"), reveal_sketch_free_accuracy)),
            Step("Now the **same network** on Fashion-MNIST, same settings and seed.", TRAIN,
                 "Open Train on Fashion-MNIST", {**THREE_BLOCKS, "data": "fashion_mnist"},
                 Question("Will the same network score higher or lower on Fashion-MNIST than on MNIST?",
                          ("Higher", "Lower", "The same"), reveal_harder_data)),
            Step("See *where* it goes wrong: the confusion matrix on Inside shows which classes it mixes up.",
                 INSIDE, "Open Inside"),
        ),
    ),
)


def lesson_by_slug(slug: str) -> Lesson | None:
    """The lesson named ``slug``, or ``None``."""
    return next((lesson for lesson in LESSONS if lesson.slug == slug), None)


def progress_text(done: Mapping[str, Iterable[int]], lesson: Lesson) -> str:
    """'2 of 4 steps done' for ``lesson``, from ``{slug: indices of the steps done}``."""
    count = len({index for index in done.get(lesson.slug, ()) if 0 <= index < len(lesson.steps)})
    return "done" if count == len(lesson.steps) else f"{count} of {len(lesson.steps)} steps done"
