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

REPO = Path(__file__).resolve().parents[2]
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


def test_uploads_are_limited_to_a_few_megabytes(config: dict) -> None:
    size = config["server"].get("maxUploadSize")
    assert isinstance(size, int) and 1 <= size <= 10, f"server.maxUploadSize is {size} MB; keep it a few MB"


def test_tracebacks_are_not_shown_to_users(config: dict) -> None:
    # Error details can leak paths and code; pages show friendly st.error messages instead.
    assert config.get("client", {}).get("showErrorDetails") in ("none", False)


def _requirements() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"requirements.txt line {line!r} is not pinned with =="
            pins[name.strip().lower()] = version.strip()
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


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_only_the_store_deserialises_models(path: Path) -> None:
    """No module but the store loads a Keras model, and the store loads only with safe_mode=True.

    It reads every call in the source (the AST, not text): ``keras.models.load_model``,
    ``keras.saving.load_model`` and ``models.load_model`` are seen however they are written.
    """
    is_store = path == REPO / "cnnviz" / "core" / "store.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    store_loads = 0
    for call in _calls(tree):
        text = ast.unparse(call.func)
        keywords = {keyword.arg: keyword.value for keyword in call.keywords}
        if re.search(r"(keras|saving|models)\.load_model$", text):
            assert is_store, (
                f"{path.name} calls {text}: load models only through cnnviz.core.store.load_model "
                "(checksum + safe_mode)"
            )
            safe = keywords.get("safe_mode")
            assert isinstance(safe, ast.Constant) and safe.value is True, f"store calls {text} without safe_mode=True"
            store_loads += 1
        elif not is_store:
            assert "safe_mode" not in keywords, f"{path.name} passes safe_mode"
        if _call_name(call) in {"load", "loads"} and isinstance(call.func, ast.Attribute):
            owner = ast.unparse(call.func.value)
            assert owner not in {"pickle", "joblib", "dill", "marshal"}, f"{path.name} unpickles data"
        for keyword in call.keywords:
            if keyword.arg == "allow_pickle":
                assert isinstance(keyword.value, ast.Constant) and keyword.value.value is False
    if is_store:
        assert store_loads >= 1, "the store no longer loads models through keras ... load_model(safe_mode=True)"


def _literal(tree: ast.Module, node: ast.expr) -> object:
    if isinstance(node, ast.Name):
        for statement in tree.body:
            targets = statement.targets if isinstance(statement, ast.Assign) else (
                [statement.target] if isinstance(statement, ast.AnnAssign) else []
            )
            if any(isinstance(target, ast.Name) and target.id == node.id for target in targets):
                return ast.literal_eval(statement.value)
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
