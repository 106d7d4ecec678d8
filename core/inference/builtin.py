"""The models that ship with zerolabel, by the names ``zerolabel predict`` and the app accept."""

from __future__ import annotations

from pathlib import Path

from core.inference.runtime import ModelFolderError

#: The models that ship with zerolabel, by the names ``predict`` and the app accept: name -> folder in resources.
BUILTIN_MODELS = {"photos": "photo_model", "shapes": "demo_model"}


def builtin_model_folder(name: str) -> Path:
    """The folder of a built-in model (``photos``: ImageNet concepts for real photographs; ``shapes``: the demo)."""
    from importlib.resources import files

    if name not in BUILTIN_MODELS:
        raise ModelFolderError(f"no built-in model {name!r}; use one of {', '.join(BUILTIN_MODELS)}")
    path = Path(str(files("resources") / BUILTIN_MODELS[name]))
    if not (path / "manifest.json").is_file():
        raise ModelFolderError(f"the built-in model {name!r} is not installed ({path} has no manifest.json); "
                               "reinstall zerolabel or give a model folder")
    return path
