"""Pretrained ImageNet weights through Keras' own cache, and a clear failure when they are missing.

``load(keras.applications.MobileNetV2, input_shape=(160, 160, 3), include_top=False,
weights="imagenet")`` builds the application with the weights Keras itself would load. The
file is looked up in Keras' cache first (``$KERAS_HOME/models``, by default ``~/.keras/models``,
under the exact name Keras uses). A copy found there is loaded as it is and its SHA-256 is
printed to the run's log and recorded in the manifest's ``reads``, so a result says which file
it came from and a build re-runs it when the file in the cache changes (:mod:`litblog.common.reads`). Without a copy, Keras
downloads it (unless ``LITBLOG_OFFLINE`` is set). When neither works,
:class:`PretrainedWeightsUnavailable` names the file, the cache folder and how to provide the
file. There is no fallback to an untrained network: its numbers would pass for transfer learning.

Only workers call :func:`load`; Keras is imported lazily.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..common import reads
from ..common.paths import keras_models_dir, shown_keras_home

if TYPE_CHECKING:  # pragma: no cover
    import keras

APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
OFFLINE_ENV = "LITBLOG_OFFLINE"
# MobileNetV2 has weights for these square input sizes; Keras loads the 224 ones for any other size.
MOBILENET_V2_ROWS = (96, 128, 160, 192, 224)
RESNETS = ("ResNet50", "ResNet101", "ResNet152")


class PretrainedWeightsUnavailable(RuntimeError):
    """Pretrained weights are neither in Keras' cache nor downloadable; the message says how to provide them.

    ``needs`` names the missing files relative to the Keras home (``models/<file>``), so a
    build can record the run as blocked and try again once they are there.
    """

    def __init__(self, message: str, needs: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.needs = needs


@dataclass(frozen=True)
class WeightsFile:
    """The ImageNet weights file Keras loads for one application and input size."""

    architecture: str
    name: str  # file name in the Keras cache, exactly as Keras names it
    url: str  # where Keras downloads it from


def weights_file(architecture: str, *, input_shape: tuple[int, ...] | None = None, include_top: bool = False,
                 alpha: float = 1.0) -> WeightsFile:
    """The weights file of ``architecture`` (the ``keras.applications`` name) as Keras names it.

    Mirrors ``keras/src/applications/mobilenet_v2.py`` and ``resnet.py``; ``KeyError`` for an
    architecture not listed here.
    """
    if architecture == "MobileNetV2":
        rows = 224
        if input_shape and input_shape[0] == input_shape[1] and input_shape[0] in MOBILENET_V2_ROWS:
            rows = int(input_shape[0])
        name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}{'' if include_top else '_no_top'}.h5"
        return WeightsFile(architecture, name, f"{APPLICATIONS_URL}mobilenet_v2/{name}")
    if architecture in RESNETS:
        name = f"{architecture.lower()}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
        return WeightsFile(architecture, name, f"{APPLICATIONS_URL}resnet/{name}")
    raise KeyError(architecture)


def cache_dir() -> Path:
    """Keras' cache of model weights: ``$KERAS_HOME/models``, or ``~/.keras/models``.

    The Keras home of :mod:`litblog.common.paths`, which the build also uses to see whether a
    blocked run's files have arrived: one rule, no temp-folder fallback that the build would
    never look in.
    """
    return keras_models_dir()


def shown_cache_dir() -> str:
    """The cache folder as a notice names it, without this machine's absolute path."""
    return f"{shown_keras_home()}/models"


def find_cached(file_name: str) -> Path | None:
    """The copy of ``file_name`` in Keras' cache, if there is one."""
    path = cache_dir() / file_name
    return path if path.is_file() else None


def offline() -> bool:
    """``LITBLOG_OFFLINE`` is set: use cached weights only, never try a download (listed architectures)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def load(application: Callable[..., "keras.Model"], *, weights: str | None = "imagenet",
         input_shape: tuple[int, int, int] | None = None, include_top: bool = False, **kwargs: Any) -> "keras.Model":
    """``application(weights=..., include_top=..., input_shape=..., **kwargs)`` with cached ImageNet weights.

    ``application`` is a ``keras.applications`` constructor. ``weights="imagenet"`` loads the
    cached file (downloading it through Keras when it is missing and a download is allowed)
    and raises :class:`PretrainedWeightsUnavailable` when it cannot; other ``weights`` values
    (``None``, a file path) go to Keras unchanged.
    """
    def build(chosen: str | None) -> "keras.Model":
        return application(weights=chosen, include_top=include_top, input_shape=input_shape, **kwargs)

    if weights != "imagenet":
        return build(weights)
    architecture = getattr(application, "__name__", str(application))
    try:
        expected = weights_file(architecture, input_shape=input_shape, include_top=include_top,
                                alpha=kwargs.get("alpha", 1.0))
    except KeyError:
        return _through_keras(build, architecture)  # an application not listed: Keras alone knows its file
    local = find_cached(expected.name) or _download(expected)
    # Loaded by hand rather than through weights="imagenet": Keras would re-download a cached
    # file whose hash differs from the published one instead of using it.
    model = build(None)
    try:
        model.load_weights(str(local))
    except Exception as exc:
        raise PretrainedWeightsUnavailable(
            f"ImageNet weights for {architecture}: {shown_cache_dir()}/{local.name} could not be loaded "
            f"({type(exc).__name__}: {exc}). "
            f"Replace it with the published file from {expected.url}, then run build-site again.") from exc
    reads.record(local, Path.cwd())  # the worker runs in the project root
    print(f"ImageNet weights for {architecture}: {expected.name} from the Keras cache "
          f"(sha256 {reads.sha256(local)[:16]}…)")
    return model


def _download(expected: WeightsFile) -> Path:
    """Download ``expected`` into Keras' cache with ``keras.utils.get_file``, or explain why not."""
    if offline():
        raise PretrainedWeightsUnavailable(_missing(expected.architecture, expected,
                                                    f"{OFFLINE_ENV} is set, so no download was tried"),
                                           needs=(f"models/{expected.name}",))
    import keras

    home = cache_dir().parent
    home.mkdir(parents=True, exist_ok=True)  # get_file falls back to /tmp for a folder that does not exist
    try:
        path = keras.utils.get_file(expected.name, expected.url, cache_subdir="models", cache_dir=str(home))
    except Exception as exc:  # network and HTTP errors come in many types
        raise PretrainedWeightsUnavailable(_missing(expected.architecture, expected,
                                                    f"the download failed ({type(exc).__name__}: {exc})"),
                                           needs=(f"models/{expected.name}",)) from exc
    print(f"ImageNet weights for {expected.architecture}: downloaded {expected.name} into the Keras cache")
    return Path(path)


def _through_keras(build: Callable[[str | None], "keras.Model"], architecture: str) -> "keras.Model":
    """``weights="imagenet"`` handled by Keras itself, for applications whose file name is not listed here.

    Keras uses a cached file when it has one and downloads otherwise; ``LITBLOG_OFFLINE``
    cannot stop that download, since the file to look for first is unknown.
    """
    try:
        return build("imagenet")
    except Exception as exc:  # network and HTTP errors come in many types
        raise PretrainedWeightsUnavailable(_missing(architecture, None,
                                                    f"Keras could not load them ({type(exc).__name__}: {exc})")) from exc


def _missing(architecture: str, expected: WeightsFile | None, reason: str) -> str:
    folder = shown_cache_dir()
    if expected is None:
        return (f"ImageNet weights for {architecture} are not available: they are not in the Keras cache "
                f"({folder}) and {reason}. Run keras.applications.{architecture}(weights='imagenet') once on a "
                f"machine with network access and copy its file from the cache's models/ folder into {folder}/, "
                f"then run build-site again. litblog does not fall back to untrained weights.")
    return (f"ImageNet weights for {architecture} are not available: {expected.name} is not in the Keras cache "
            f"({folder}) and {reason}. To provide them, download {expected.url} on a machine with network access "
            f"and copy the file into {folder}/ (or set KERAS_HOME to a folder whose models/ holds it), then run "
            f"build-site again. litblog does not fall back to untrained weights.")
