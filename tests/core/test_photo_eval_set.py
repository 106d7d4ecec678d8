"""The real-photo evaluation set reads with the layout reader and its masks are valid."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np

from core.data.layout import LayoutDataset

ROOT = Path(str(files("resources") / "photo_eval"))


def test_photo_eval_set_loads_and_masks_are_valid():
    ds = LayoutDataset(ROOT)
    ids = ds.ids("test")
    assert len(ids) >= 8 and ds.splits() == ("test",)
    assert ds.classes[0] == "background" and {"cat", "cup", "person", "sky"} <= set(ds.classes)
    licences = (ROOT / "LICENSES.md").read_text(encoding="utf-8")
    present: set[int] = set()
    for sample_id in ids:
        image, labels = ds.image(sample_id), ds.label(sample_id)
        assert image.shape[:2] == labels.shape and max(labels.shape) <= 640
        values = set(np.unique(labels).tolist())
        assert values <= set(range(len(ds.classes))) | {255}
        assert values - {0, 255}, f"{sample_id} shows no class"
        assert 0 < np.mean(labels == 255) < 0.5, f"{sample_id}: no border band or mostly ignored"
        assert f"| {sample_id} |" in licences
        present |= values
    assert set(range(1, len(ds.classes))) <= present, "a class of labelmap.txt is in no image"
