"""Class colours agree with class names and stay apart; the VOC colour map is unchanged."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from core.data.palette import class_colour, class_colours, named_colour, voc_palette


def _hue(rgb) -> float:
    return colorsys.rgb_to_hsv(*(v / 255 for v in rgb))[0] * 360


def _lab_distance(a, b) -> float:
    from core.data.palette import _lab

    return float(np.linalg.norm(_lab(np.array(a)) - _lab(np.array(b))))


def test_voc_palette_unchanged():
    p = voc_palette()
    assert p.shape == (256, 3) and tuple(p[0]) == (0, 0, 0) and tuple(p[1]) == (128, 0, 0)
    assert tuple(p[255]) == (224, 224, 192)


@pytest.mark.parametrize(("name", "lo", "hi"), [
    ("red triangle", 345, 375), ("blue circle", 200, 250), ("green square", 100, 150),
    ("Yellow Taxi", 40, 65), ("orange", 20, 40), ("purple-ish flower", 260, 300),
])
def test_colour_words_give_their_hue(name, lo, hi):
    h = _hue(class_colour(name))
    assert lo <= h <= hi or lo <= h + 360 <= hi, (name, class_colour(name), h)


def test_modifiers_shade_and_things_have_their_colour():
    green, dark = named_colour("green"), named_colour("dark green")
    assert sum(dark) < sum(green)
    assert sum(named_colour("light blue")) > sum(named_colour("blue"))
    assert 180 <= _hue(class_colour("sky")) <= 215  # light blue, not purple
    assert 80 <= _hue(class_colour("grass")) <= 140
    assert named_colour("cat") is None
    assert named_colour("sea lion") is None and named_colour("snow leopard") is None  # the thing must be the head
    assert named_colour("pine tree") == named_colour("tree")


def test_black_is_not_background_and_two_reds_differ():
    assert class_colour("black cat") != (0, 0, 0)
    first, second = class_colours(["red circle", "red square"])
    assert first != second and _lab_distance(first, second) >= 12
    assert _hue(second) > 340 or _hue(second) < 15  # still red


def test_unnamed_classes_are_well_separated_and_deterministic():
    names = ["cat", "dog", "person", "car", "chair", "bottle", "table", "bird", "boat", "horse"]
    colours = class_colours(names)
    assert colours == class_colours(names)
    assert len(set(colours)) == len(colours)
    worst = min(_lab_distance(a, b) for i, a in enumerate(colours) for b in colours[i + 1:])
    assert worst > 20, worst
    assert all(_lab_distance(c, (0, 0, 0)) > 20 for c in colours)


def test_cat_and_sky_do_not_look_alike():
    cat, sky = class_colours(["cat", "sky"])
    assert _lab_distance(cat, sky) > 30


def test_many_classes_stay_distinct_and_avoid_reserved():
    colours = class_colours([f"class {i}" for i in range(60)])
    assert len(set(colours)) == 60
    assert (0, 0, 0) not in colours and (224, 224, 192) not in colours


def test_used_colours_are_avoided():
    used = [(220, 30, 30)]
    assert class_colour("red car", used) != (220, 30, 30)
    assert class_colour("cat", class_colours(["a", "b"])) not in class_colours(["a", "b"])
