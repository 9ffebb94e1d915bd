"""Security settings that must not drift (issue 7, section 4).

A classroom shares one server, so: XSRF and CORS protection stay on, uploads are small,
Pillow's decompression-bomb guard stays on, no code path loads a model file from anywhere
but the store (which checks a checksum and uses safe_mode), uploads only accept images and
go through the safe decoder, and the pinned dependencies are at or above the versions
without known advisories.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import pkgutil
import re
import tomllib
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT
SOURCES = sorted([*REPO.joinpath("cnnviz").rglob("*.py"), *REPO.joinpath("pages").glob("*.py"), REPO / "app.py"])
IMAGE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"}
#: Minimum versions without known advisories (issue 7): Streamlit >= 1.54, Keras >= 3.13.2.
MINIMUM_VERSIONS = {"streamlit": (1, 54, 0), "keras": (3, 13, 2)}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


@pytest.fixture(scope="module")
def config() -> dict:
    return tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_xsrf_and_cors_protection_stay_on(config: dict) -> None:
    server = config["server"]
    assert server.get("enableXsrfProtection", True) is True
    assert server.get("enableCORS", True) is True


def test_the_server_listens_on_this_computer_only(config: dict) -> None:
    """Issue 16, finding 8: it listened on every interface and printed a Network URL (docs/classroom.md opens it)."""
    assert config["server"]["address"] == "127.0.0.1"


def test_uploads_are_limited_to_a_few_megabytes(config: dict) -> None:
    size = config["server"].get("maxUploadSize")
    assert isinstance(size, int) and 1 <= size <= 10, f"server.maxUploadSize is {size} MB; keep it a few MB"


def test_tracebacks_are_not_shown_to_users(config: dict) -> None:
    # Error details can leak paths and code; pages show friendly st.error messages instead.
    assert config.get("client", {}).get("showErrorDetails") in ("none", False)


def test_large_page_elements_are_resent_never_referenced(config: dict) -> None:
    """Streamlit under our config marks no page element as cached, so it never sends a reference to one.

    A reference the browser had already dropped stopped the page for good ("Cached ForwardMsg MISS", every
    widget greyed out) in the Sketch browser test. Checked with Streamlit's own hashing of a 1 MB element,
    which its default (10 kB) caches.
    """
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.forward_msg_cache import populate_hash_if_needed
    from streamlit.testing.v1.util import patch_config_options

    def cacheable() -> bool:
        message = ForwardMsg()
        message.delta.new_element.markdown.body = "x" * 1_000_000
        populate_hash_if_needed(message)
        return message.metadata.cacheable

    with patch_config_options({"global.minCachedMessageSize": 10e3}):  # Streamlit's default
        assert cacheable(), "Streamlit's default caches a 1 MB element: this test no longer sees the mechanism"
    with patch_config_options({"global.minCachedMessageSize": config["global"]["minCachedMessageSize"]}):
        assert not cacheable()


def _requirements() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"requirements.txt line {line!r} is not pinned with =="
            pins[name.split("[")[0].strip().lower()] = version.strip()  # psycopg[binary] -> psycopg
    return pins


def test_runtime_dependencies_are_pinned_to_safe_versions() -> None:
    pins = _requirements()
    for package, minimum in MINIMUM_VERSIONS.items():
        assert _version_tuple(pins[package]) >= minimum, f"{package}=={pins[package]} is older than {minimum}"


def test_installed_versions_match_the_pins() -> None:
    for package, pinned in _requirements().items():
        installed = importlib.metadata.version(package)
        assert installed == pinned, f"{package}: requirements.txt pins {pinned}, {installed} is installed"


def test_pillow_decompression_bomb_guard_is_on_after_importing_everything() -> None:
    from PIL import Image

    import cnnviz

    for module in pkgutil.walk_packages(cnnviz.__path__, "cnnviz."):
        if not module.name.startswith("cnnviz.ui"):  # ui modules need a running Streamlit script
            importlib.import_module(module.name)
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 200_000_000


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _call_name(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    if isinstance(function, ast.Name):
        return function.id
    return ""


#: Framework entry points that turn a file or a config into a model (and so can run code a file brings along).
DESERIALISERS = {"load_model", "model_from_json", "model_from_yaml", "model_from_config", "TFSMLayer"}
FRAMEWORKS = ("keras", "tensorflow", "tf_keras")
#: Deserialisations outside the store, each with why it is safe.
ALLOWED_OUTSIDE_THE_STORE = {
    # The training child rebuilds the architecture its parent made with build_model and sent down a pipe as
    # JSON (no weights, no file, nothing a user uploaded); Keras 3 deserialises it in safe mode.
    "cnnviz/train/worker.py": {"keras.models.model_from_json"},
    # The same for the Ray backend's actor: the JSON comes from the server's build_model through Ray, not a user.
    "cnnviz/train/ray_backend.py": {"keras.models.model_from_json"},
    # The warm child builds the default design from the server's own build_model JSON, before any job.
    "cnnviz/train/pretrace.py": {"keras.models.model_from_json"},
}


def _import_aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> the dotted name it stands for, from every import in the module (also inside functions)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                if name.asname:
                    aliases[name.asname] = name.name
                else:
                    root = name.name.split(".")[0]
                    aliases[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for name in node.names:
                aliases[name.asname or name.name] = f"{node.module}.{name.name}"
    return aliases


def _resolved(call: ast.Call, aliases: dict[str, str]) -> str:
    """The dotted name a call's function stands for, its first part resolved through the imports."""
    head, _, rest = ast.unparse(call.func).partition(".")
    head = aliases.get(head, head)
    return f"{head}.{rest}" if rest else head


def _model_loads(source: str) -> list[tuple[str, bool]]:
    """Every call in ``source`` that deserialises a model through Keras or TensorFlow, however it is imported
    or aliased, with whether it passes ``safe_mode=True``."""
    tree = ast.parse(source)
    aliases = _import_aliases(tree)
    found = []
    for call in _calls(tree):
        name = _resolved(call, aliases)
        parts = name.split(".")
        framework = parts[0] in FRAMEWORKS
        if (framework and parts[-1] in DESERIALISERS) or name == "tensorflow.saved_model.load":
            safe = next((k.value for k in call.keywords if k.arg == "safe_mode"), None)
            found.append((name, isinstance(safe, ast.Constant) and safe.value is True))
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import keras\nkeras.models.load_model(p)", [("keras.models.load_model", False)]),
        ("import keras\nkeras.saving.load_model(p, safe_mode=True)", [("keras.saving.load_model", True)]),
        ("from keras.models import load_model as lm\nlm(p)", [("keras.models.load_model", False)]),
        ("import tensorflow as tf\ntf.keras.models.load_model(p)", [("tensorflow.keras.models.load_model", False)]),
        ("def f():\n    from keras import saving\n    return saving.load_model(p)",
         [("keras.saving.load_model", False)]),
        ("import tensorflow as tf\ntf.saved_model.load(p)", [("tensorflow.saved_model.load", False)]),
        ("import keras\nkeras.models.model_from_json(text)", [("keras.models.model_from_json", False)]),
        ("from cnnviz.core.store import load_model\nload_model(record)", []),
    ],
)
def test_the_model_load_finder_sees_every_spelling(source: str, expected: list[tuple[str, bool]]) -> None:
    assert _model_loads(source) == expected


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_only_the_store_deserialises_models(path: Path) -> None:
    """No module but the store deserialises a model, and the store does so only with ``safe_mode=True``.

    Every call in the source is read (the AST, not text) with its name resolved through the module's
    imports, so ``from keras.models import load_model as lm; lm(path)`` is seen as well as
    ``keras.saving.load_model(path)`` (the finder's own test above shows which spellings it sees).
    Pickle-style loaders are refused everywhere, and ``np.load`` never allows pickles.
    """
    is_store = path == REPO / "cnnviz" / "core" / "store.py"
    source = path.read_text(encoding="utf-8")
    loads = _model_loads(source)
    if is_store:
        assert loads, "the store no longer loads models through keras ... load_model(safe_mode=True)"
        assert all(safe for _, safe in loads), f"the store loads without safe_mode=True: {loads}"
    else:
        allowed = ALLOWED_OUTSIDE_THE_STORE.get(path.relative_to(REPO).as_posix(), set())
        loads = [(name, safe) for name, safe in loads if name not in allowed]
        assert not loads, f"{path.name} calls {loads}: load models only through cnnviz.core.store.load_model"
    tree = ast.parse(source)
    for call in _calls(tree):
        if not is_store:
            assert "safe_mode" not in {keyword.arg for keyword in call.keywords}, f"{path.name} passes safe_mode"
        if _call_name(call) in {"load", "loads"} and isinstance(call.func, ast.Attribute):
            owner = ast.unparse(call.func.value)
            assert owner not in {"pickle", "joblib", "dill", "marshal"}, f"{path.name} unpickles data"
        for keyword in call.keywords:
            if keyword.arg == "allow_pickle":
                assert isinstance(keyword.value, ast.Constant) and keyword.value.value is False


def _literal(tree: ast.Module, node: ast.expr) -> object:
    """The value of ``node``: a literal, a module-level constant of ``tree``, or a name it imports from cnnviz."""
    if isinstance(node, ast.Name):
        for statement in tree.body:
            targets = statement.targets if isinstance(statement, ast.Assign) else (
                [statement.target] if isinstance(statement, ast.AnnAssign) else []
            )
            if any(isinstance(target, ast.Name) and target.id == node.id for target in targets):
                return ast.literal_eval(statement.value)
            if isinstance(statement, ast.ImportFrom) and (statement.module or "").startswith("cnnviz."):
                for alias in statement.names:
                    if (alias.asname or alias.name) == node.id:
                        return getattr(importlib.import_module(statement.module), alias.name)
        raise AssertionError(f"cannot resolve {node.id}")
    return ast.literal_eval(node)


def test_every_upload_accepts_only_images_and_goes_through_the_safe_decoder() -> None:
    uploaders = 0
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for call in _calls(tree):
            if _call_name(call) != "file_uploader":
                continue
            uploaders += 1
            types = {keyword.arg: keyword.value for keyword in call.keywords}.get("type")
            assert types is not None, f"{path.name}: a file_uploader without type= accepts anything"
            accepted = {str(item).lower().lstrip(".") for item in _literal(tree, types)}  # type: ignore[union-attr]
            assert accepted <= IMAGE_EXTENSIONS, f"{path.name}: uploader accepts {accepted - IMAGE_EXTENSIONS}"
            assert "decode_image" in source, (
                f"{path.name}: uploads must be decoded with cnnviz.core.uploads.decode_image"
            )
    assert uploaders >= 1, "expected at least one upload widget (Kernels, Sketch)"


def test_pages_do_not_build_file_paths() -> None:
    # Pages are thin; any file access (and so any path built from user input) lives in cnnviz,
    # where names are sanitised. A page that opens files is a review flag.
    for path in sorted(REPO.joinpath("pages").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls(tree):
            name = ast.unparse(call.func)
            assert name not in {"open", "Path", "os.remove", "os.unlink", "shutil.rmtree", "os.replace"}, (
                f"{path.name} calls {name}(); move file handling into cnnviz"
            )
