"""Inside: look inside a trained CNN (feature maps, filters, saliency) and see where it goes wrong."""

from __future__ import annotations

import streamlit as st

from cnnviz.inside.figures import (
    cell_from_selection,
    confusion_matrix_figure,
    dense_activation_figure,
    feature_maps_figure,
    filter_grid_figure,
    image_gallery_figure,
    index_from_selection,
    pca_figure,
    probability_figure,
    saliency_figure,
    snapshot_range,
)
from cnnviz.core.figures import image_figure
from cnnviz.core.datasets import DatasetError
from cnnviz.inside.evaluation import cell_indices, most_confident_mistakes, most_confused_pair
from cnnviz.inside.activations import InspectError, conv_kernel, conv_layer_names, filter_images
from cnnviz.core.predict import top_guesses
from cnnviz.ui.datasets import get_dataset
from cnnviz.inside.widgets import (
    ChosenImage,
    cached_activations,
    cached_probabilities,
    cached_saliency,
    cached_test_results,
    image_chooser,
)
from cnnviz.ui.layout import explain, require_router
from cnnviz.ui.models import model_picker
from cnnviz.ui.state import get_latest_sketch

require_router()

SECTIONS = ("Feature maps", "Filters", "Saliency", "Evaluation")

st.title("Inside the network")
st.markdown(
    "Tutorials say that a CNN's early layers find edges and its later layers find larger shapes. "
    "Check it on a real model: follow one image through every layer, look at the filters it learned, "
    "ask which pixels made it decide, and find out where it goes wrong on the test split."
)

picked = model_picker(
    "inside_model",
    label="Model to look inside",
    help="The model you trained in this session, a model shipped with the studio, or one you saved. "
    "Everything on this page is computed from its weights.",
)
if picked is None:
    st.stop()  # The picker has said why and how to get a model.

model = picked.model
class_names = tuple(picked.class_names)
try:
    dataset = get_dataset(picked.dataset)
except DatasetError as error:
    dataset = None
    st.warning(f"The {picked.dataset} test split could not be loaded, so only your sketch can be used.\n\n{error}")
if dataset is not None and dataset.num_classes != len(class_names):
    st.warning(
        f"This model predicts {len(class_names)} classes but the {picked.dataset} dataset it names has "
        f"{dataset.num_classes}, so its test images cannot be used (only your sketch). Pick a model trained "
        "on one of the studio's datasets."
    )
    dataset = None

# Widget state is dropped when the user visits another page; a plain key brings the section back.
if "inside_section" not in st.session_state:
    st.session_state["inside_section"] = st.session_state.get("inside_section_keep", SECTIONS[0])
section = st.segmented_control(
    "Look at",
    SECTIONS,
    key="inside_section",
    help="Feature maps: what each layer computes for one image. Filters: the weights it learned. "
    "Saliency: which pixels mattered for a decision. Evaluation: how it does on every test image.",
) or SECTIONS[0]
st.session_state["inside_section_keep"] = section


def choose_image() -> ChosenImage | None:
    """The image chooser beside a picture of the chosen image (shared by two sections)."""
    controls, picture = st.columns([3, 1])
    with controls:
        chosen = image_chooser(
            dataset.x_test if dataset else None,
            dataset.y_test if dataset else None,
            class_names,
            get_latest_sketch(),
            key="inside_image",
        )
    if chosen is not None:
        picture.plotly_chart(
            image_figure(chosen.image, height=200, showscale=False), key="inside_input_image"
        )
    return chosen


def show_feature_maps() -> None:
    """Section 1: every layer's output for one image."""
    chosen = choose_image()
    if chosen is None:
        return
    max_maps = st.slider(
        "Feature maps per layer",
        min_value=4,
        max_value=64,
        value=16,
        step=4,
        key="inside_max_maps",
        help="A conv layer with 32 filters makes 32 feature maps: one picture per filter of where it "
        "found its pattern. Show fewer to keep the page quick.",
    )
    activations = cached_activations(model, picked.version, chosen.image)
    probabilities = activations[-1].values
    predicted = top_guesses(probabilities, class_names, k=1)[0].index
    verdict = ""
    if chosen.true_class is not None:
        verdict = " Right." if predicted == chosen.true_class else " Wrong."
    st.markdown(
        f"The model says **{class_names[predicted]}** ({probabilities[predicted]:.0%}) for {chosen.label}.{verdict}"
    )
    explain(
        "What am I looking at?",
        "Each small square is a **feature map**: the output of one filter, slid over the previous layer. "
        "Bright means the filter found its pattern there (after ReLU, negative responses become 0, so "
        "dark means 'not here'). The first conv layer's maps look like the digit with some edges "
        "highlighted; **pooling** halves the size and keeps the strongest response in each 2x2 patch; "
        "deeper maps are smaller and respond to larger, more abstract parts. All maps of one layer share "
        "one colour scale, so a dark map really responded weakly. Hover to read the numbers. The "
        "**dense** layers are drawn as bars (one per unit), and the last bars are the **softmax** "
        "output: the model's probability for each class.",
    )
    for activation in activations:
        if activation.is_spatial:
            figure = feature_maps_figure(activation, max_maps=max_maps)
        elif activation.kind == "output":
            figure = probability_figure(
                activation.values,
                class_names,
                title=f"{activation.name} (softmax output) · {len(class_names)} probabilities",
                true_class=chosen.true_class,
            )
        else:
            figure = dense_activation_figure(activation)
        st.plotly_chart(figure, key=f"inside_fm_{activation.name}")


def show_filters() -> None:
    """Section 2: learned kernels, and the first layer's kernels replayed epoch by epoch."""
    names = conv_layer_names(model)
    if not names:
        st.info("This model has no convolution layer, so it has no filters to show.")
        return
    layer = st.selectbox(
        "Conv layer",
        names,
        key="inside_filter_layer",
        help="Each conv layer holds a stack of small filters (kernels). The first layer's filters look at "
        "the pixels; deeper filters look at the previous layer's feature maps.",
    )
    kernel = conv_kernel(model, layer)
    kh, kw, channels, filters = kernel.shape
    channel = 0
    if channels > 1:
        channel = st.slider(
            "Input channel",
            min_value=0,
            max_value=channels - 1,
            value=0,
            key="inside_filter_channel",
            help=f"A filter of {layer} has one {kh}x{kw} slice per feature map of the layer before it "
            f"({channels} of them); pick which slice to show for every filter.",
        )
    st.plotly_chart(
        filter_grid_figure(
            filter_images(kernel, channel),
            title=f"{layer}: {filters} filters of {kh}×{kw}" + (f", input channel {channel}" if channels > 1 else ""),
        ),
        key="inside_filters",
    )
    explain(
        "What am I looking at?",
        "Each square is one filter's weights. **Red** weights add the pixel under them, **blue** ones "
        "subtract it, white ones ignore it. A filter with red on one side and blue on the other is an "
        "**edge detector**: it responds where brightness changes in that direction. Hover for the exact "
        "weights. Deeper layers' filters combine feature maps, so one picture shows only the slice for one "
        "input channel.",
    )
    st.subheader("Watch the filters learn")
    snapshots = picked.trained.filter_snapshots if picked.trained is not None else []
    if not snapshots:
        st.info(
            "Snapshots of the first layer's filters are kept after every epoch while a model trains on the "
            "**Train** page. Train a model in this session (and pick it above) to replay them here."
        )
        return
    epoch = st.slider(
        "After epoch",
        min_value=1,
        max_value=len(snapshots),
        value=len(snapshots),
        key="inside_snapshot_epoch",
        help="Slide back to epoch 1 and forward again: the filters start as random noise and turn into "
        "edge and blob detectors as training goes on.",
    ) if len(snapshots) > 1 else 1
    st.plotly_chart(
        filter_grid_figure(
            filter_images(snapshots[epoch - 1], 0),
            title=f"conv_1 after epoch {epoch} of {len(snapshots)}",
            value_range=snapshot_range(snapshots),
        ),
        key="inside_snapshot",
    )
    st.caption("Every epoch is drawn on the same colour scale, so a filter that grows stronger gets darker colours.")


def show_saliency() -> None:
    """Section 3: gradient saliency and Grad-CAM for the predicted class and a chosen one."""
    chosen = choose_image()
    if chosen is None:
        return
    probabilities = cached_probabilities(model, picked.version, chosen.image)
    predicted = top_guesses(probabilities, class_names, k=1)[0].index
    other = st.selectbox(
        "Also explain class",
        range(len(class_names)),
        index=chosen.true_class if chosen.true_class is not None and chosen.true_class != predicted else
        (1 if predicted == 0 else 0),
        format_func=lambda index: f"{class_names[index]} ({probabilities[index]:.1%})",
        key="inside_saliency_class",
        help="Ask why the model might (or might not) see another class: which pixels would raise that "
        "class's score? Try the true class when the model is wrong.",
    )
    explain(
        "What am I looking at?",
        "**Gradient saliency** asks, for every pixel: if this pixel were a bit brighter, how much would "
        "the class's score change? Bright pixels matter most. It is sharp but noisy. **Grad-CAM** looks "
        "at the last conv layer instead: it weights each feature map by how much it raises the class's "
        "score and keeps the positive total, so it is coarser (the conv layer's resolution, stretched to "
        "28x28) but shows *regions* the model used. Both explain the class's score before softmax.",
    )
    for class_index, heading in ((predicted, "Predicted class"), (int(other), "Chosen class")):
        pair = cached_saliency(model, picked.version, chosen.image, class_index)
        maps = {"Gradient saliency": pair.gradient.heatmap}
        if pair.grad_cam is not None:
            maps["Grad-CAM"] = pair.grad_cam.heatmap
        title = f"{heading}: {class_names[class_index]} ({pair.gradient.probability:.1%}) for {chosen.label}"
        st.plotly_chart(saliency_figure(chosen.image, maps, title=title), key=f"inside_saliency_{heading}")
        if pair.grad_cam is None:
            st.caption(f"No Grad-CAM: {pair.grad_cam_problem}")


def _on_cell_click() -> None:
    cell = cell_from_selection(st.session_state.get("inside_confusion", {}).get("selection"))
    if cell is not None:
        st.session_state["inside_cell_true"], st.session_state["inside_cell_predicted"] = cell


def _on_pca_select() -> None:
    index = index_from_selection(st.session_state.get("inside_pca", {}).get("selection"))
    if index is not None:
        st.session_state["inside_pca_index"] = index


def show_evaluation() -> None:
    """Section 4: accuracy, per-class table, clickable confusion matrix, mistakes and PCA."""
    if dataset is None:
        st.info("The evaluation needs the test split, which could not be loaded.")
        return
    evaluation, pca = cached_test_results(model, picked.version, picked.dataset)
    mistakes = evaluation.mistakes
    first, second, third = st.columns(3)
    first.metric("Test accuracy", f"{evaluation.accuracy:.2%}", help="The share of test images classified correctly.")
    second.metric("Test images", f"{len(evaluation.y_true):,}", help="Images the model never saw while training.")
    third.metric("Mistakes", f"{mistakes:,}", help="Test images whose most probable class is wrong.")
    st.caption(f"**Data source:** {dataset.source}")

    st.subheader("Per class")
    metrics = evaluation.per_class
    st.dataframe(
        {
            "class": list(class_names),
            "precision": metrics.precision,
            "recall": metrics.recall,
            "F1": metrics.f1,
            "test images": metrics.support,
        },
        column_config={
            name: st.column_config.NumberColumn(name, format="percent") for name in ("precision", "recall", "F1")
        },
        hide_index=True,
        key="inside_metrics_table",
    )
    explain(
        "What do precision, recall and F1 mean?",
        "**Precision** of a class: of the images the model *called* that class, the share that really are. "
        "**Recall**: of the images that really *are* that class, the share the model found. "
        "**F1** is their harmonic mean: high only when both are high.",
    )

    st.subheader("Confusion matrix")
    confusion = evaluation.confusion
    worst = most_confused_pair(confusion)
    for key, default in (("inside_cell_true", worst[0]), ("inside_cell_predicted", worst[1])):
        if st.session_state.get(key) not in range(len(class_names)):
            st.session_state[key] = default
    matrix_column, cell_column = st.columns([3, 2])
    with matrix_column:
        st.plotly_chart(
            confusion_matrix_figure(
                confusion,
                class_names,
                selected=(st.session_state["inside_cell_true"], st.session_state["inside_cell_predicted"]),
            ),
            key="inside_confusion",
            on_select=_on_cell_click,
            selection_mode="points",
        )
        st.caption(
            "Rows are the true classes, columns what the model predicted; the diagonal holds the correct "
            "answers and the colour is each cell's share of its row. **Click a cell** (or use the two boxes "
            "beside it) to see its images. It starts on the most common mistake."
        )
    with cell_column:
        left, right = st.columns(2)
        true_class = left.selectbox(
            "True class",
            range(len(class_names)),
            format_func=lambda index: class_names[index],
            key="inside_cell_true",
            help="The row of the confusion matrix: what the images really are.",
        )
        predicted_class = right.selectbox(
            "Predicted class",
            range(len(class_names)),
            format_func=lambda index: class_names[index],
            key="inside_cell_predicted",
            help="The column: what the model said they are.",
        )
        indices = cell_indices(evaluation, int(true_class), int(predicted_class))
        verdict = "correct" if true_class == predicted_class else "mistakes"
        st.markdown(
            f"**{len(indices)}** test images of **{class_names[true_class]}** predicted as "
            f"**{class_names[predicted_class]}** ({verdict}), most confident first."
        )
        if len(indices):
            shown = indices[:16]
            captions = [
                f"#{i}: {class_names[predicted_class]} {evaluation.probabilities[i, predicted_class]:.0%}"
                + (
                    ""
                    if true_class == predicted_class
                    else f", {class_names[true_class]} {evaluation.probabilities[i, true_class]:.0%}"
                )
                for i in shown
            ]
            st.plotly_chart(
                image_gallery_figure(dataset.x_test[shown], captions, cols=4), key="inside_cell_images"
            )
            st.caption(
                "Above each image: its number in the test split, then the model's probability for the predicted "
                "class" + ("" if true_class == predicted_class else " and for the true class") + "."
                + (f" Showing the {len(shown)} most confident of {len(indices)}." if len(indices) > len(shown) else "")
            )

    st.subheader("Most confident mistakes")
    worst_mistakes = most_confident_mistakes(evaluation, 12)
    if len(worst_mistakes) == 0:
        st.success("The model got every test image right.")
    else:
        captions = [
            f"{class_names[evaluation.y_true[i]]} → {class_names[evaluation.y_pred[i]]} "
            f"{evaluation.confidence[i]:.0%}"
            for i in worst_mistakes
        ]
        st.plotly_chart(image_gallery_figure(dataset.x_test[worst_mistakes], captions), key="inside_mistakes")
        st.caption(
            "True class → predicted class, with the model's confidence. Some of these are honest mistakes "
            "by the model; some are badly written or mislabelled images that would fool a person too."
        )

    st.subheader("What the last layer sees (PCA)")
    subset = pca.indices
    st.plotly_chart(
        pca_figure(
            pca.projection.points,
            evaluation.y_true[subset],
            evaluation.y_pred[subset],
            class_names,
            subset,
            explained=pca.projection.explained_variance_ratio,
        ),
        key="inside_pca",
        on_select=_on_pca_select,
        selection_mode="points",
    )
    explain(
        "What am I looking at?",
        f"Every dot is a test image ({len(subset):,} of them), placed by the {pca.feature_size} numbers the "
        "last layer receives, squeezed to 2-D with **principal component analysis** (the two directions "
        "along which those numbers vary most). Colour is the true class; an **x** marks a mistake. If the "
        "network has learned well, each class forms its own cluster; mistakes sit between clusters. "
        "**Click a dot** to see its image.",
    )
    index = st.session_state.get("inside_pca_index")
    if index is not None and 0 <= int(index) < len(evaluation.y_true):
        index = int(index)
        image_column, bars_column = st.columns([1, 3])
        image_column.plotly_chart(
            image_gallery_figure(dataset.x_test[[index]], [f"test image #{index}"], cols=1, cell_height=220),
            key="inside_pca_image",
        )
        bars_column.plotly_chart(
            probability_figure(
                evaluation.probabilities[index],
                class_names,
                title=f"#{index}: a {class_names[evaluation.y_true[index]]}, "
                f"predicted {class_names[evaluation.y_pred[index]]}",
                true_class=int(evaluation.y_true[index]),
            ),
            key="inside_pca_probs",
        )


try:
    {
        "Feature maps": show_feature_maps,
        "Filters": show_filters,
        "Saliency": show_saliency,
        "Evaluation": show_evaluation,
    }[section]()
except (InspectError, DatasetError) as error:
    st.error(f"This could not be computed for the chosen model and image.\n\n{error}")
