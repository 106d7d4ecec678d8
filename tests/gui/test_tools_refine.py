"""The Qt-free region helpers behind the canvas tools: click to refine, flood fill, polygon fill."""

from __future__ import annotations

import numpy as np

from core.annotation.refine import flood_region, polygon_mask, refine_click


def scene(h=300, w=400):
    """Two bright shapes on a dark ground: a disk and a square."""
    yy, xx = np.mgrid[:h, :w]
    rgb = np.full((h, w, 3), 25, np.uint8)
    disk = (yy - 150) ** 2 + (xx - 120) ** 2 < 60 ** 2
    square = (yy > 100) & (yy < 200) & (xx > 260) & (xx < 360)
    rgb[disk] = (210, 60, 50)
    rgb[square] = (210, 60, 50)
    return rgb, disk, square


def test_a_click_grows_to_the_edges_of_its_own_region_only_and_the_same_click_gives_the_same_mask():
    rgb, disk, square = scene()
    empty = np.zeros(disk.shape, bool)
    grown = refine_click(rgb, empty, 120, 150, add=True)
    assert (grown & disk).sum() > 0.95 * disk.sum() and (grown & ~disk).sum() < 0.05 * disk.sum()
    assert not (grown & square).any()  # the same colour elsewhere is not connected to the click
    assert np.array_equal(grown, refine_click(rgb, empty, 120, 150, add=True))
    # a cut at the square's centre of a mask holding both shapes takes the square away, keeps the disk
    both = disk | square
    cut = refine_click(rgb, both, 310, 150, add=False, seeds=[(120, 150, True)])
    assert (cut & square).sum() < 0.1 * square.sum() and (cut & disk).sum() > 0.95 * disk.sum()
    assert np.array_equal(refine_click(rgb, both, -5, 10), both)  # a click off the image changes nothing


def test_flood_and_polygon():
    rgb, disk, square = scene()
    assert np.array_equal(flood_region(rgb, 120, 150, 10), disk)
    ground = flood_region(rgb, 5, 5, 10)
    assert np.array_equal(ground, ~(disk | square))
    tri = polygon_mask((300, 400), [(0, 0), (100, 0), (0, 100)])
    assert tri[10, 10] and not tri[90, 90] and 4900 < tri.sum() < 5300
    assert not polygon_mask((10, 10), [(0, 0), (5, 5)]).any()  # fewer than three points: nothing
