"""CUB-200-2011 birds with the Farrell et al. segmentations, read from the release layout.

``CUB_200_2011.tgz`` unpacks to ``attributes.txt`` (312 lines ``"1 has_bill_shape::curved_(up_or_down)"``)
next to ``CUB_200_2011/``, which holds::

    images.txt                  "<image id> <class dir>/<file>.jpg"
    classes.txt                 "<class id> 001.Black_footed_Albatross"
    image_class_labels.txt      "<image id> <class id>"
    train_test_split.txt        "<image id> <1 = train, 0 = test>"
    images/<class dir>/<file>.jpg
    attributes/class_attribute_labels_continuous.txt   200 rows x 312 floats, percent (0..100)

``segmentations.tgz`` unpacks to ``segmentations/<class dir>/<file>.png``: grayscale soft masks whose values
are multiples of 51 (0, 51, ..., 255 = how many of five annotators marked the pixel). The bird is the pixels
with value >= 128, i.e. a majority (3 of 5) of annotators, the usual ``mask / 255 > 0.5`` binarisation; pass
``threshold`` to change it. ``segmentations/`` may sit next to ``CUB_200_2011/`` (as unpacked) or inside it.

Labels are per image: 0 = background and the species' class index where the bird is, so the dataset works as
201-class segmentation and as binary bird/background (``label > 0``). Class names are readable text
("001.Black_footed_Albatross" -> "black footed albatross"). The zero-shot 150/50 class split is data:
``core.data.splits.load_split("cub_150_50")``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from core.data.base import BACKGROUND, SegDataset
from core.data.voc import check_unseen, require_file
from core.errors import DatasetError
from core.io.image import read_image

#: The 200 class folder names of ``classes.txt``, in class-id order (id = position + 1).
CUB_CLASS_DIRS: tuple[str, ...] = (
    "001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross", "004.Groove_billed_Ani",
    "005.Crested_Auklet", "006.Least_Auklet", "007.Parakeet_Auklet", "008.Rhinoceros_Auklet",
    "009.Brewer_Blackbird", "010.Red_winged_Blackbird", "011.Rusty_Blackbird",
    "012.Yellow_headed_Blackbird", "013.Bobolink", "014.Indigo_Bunting", "015.Lazuli_Bunting",
    "016.Painted_Bunting", "017.Cardinal", "018.Spotted_Catbird", "019.Gray_Catbird",
    "020.Yellow_breasted_Chat", "021.Eastern_Towhee", "022.Chuck_will_Widow", "023.Brandt_Cormorant",
    "024.Red_faced_Cormorant", "025.Pelagic_Cormorant", "026.Bronzed_Cowbird", "027.Shiny_Cowbird",
    "028.Brown_Creeper", "029.American_Crow", "030.Fish_Crow", "031.Black_billed_Cuckoo",
    "032.Mangrove_Cuckoo", "033.Yellow_billed_Cuckoo", "034.Gray_crowned_Rosy_Finch", "035.Purple_Finch",
    "036.Northern_Flicker", "037.Acadian_Flycatcher", "038.Great_Crested_Flycatcher",
    "039.Least_Flycatcher", "040.Olive_sided_Flycatcher", "041.Scissor_tailed_Flycatcher",
    "042.Vermilion_Flycatcher", "043.Yellow_bellied_Flycatcher", "044.Frigatebird", "045.Northern_Fulmar",
    "046.Gadwall", "047.American_Goldfinch", "048.European_Goldfinch", "049.Boat_tailed_Grackle",
    "050.Eared_Grebe", "051.Horned_Grebe", "052.Pied_billed_Grebe", "053.Western_Grebe",
    "054.Blue_Grosbeak", "055.Evening_Grosbeak", "056.Pine_Grosbeak", "057.Rose_breasted_Grosbeak",
    "058.Pigeon_Guillemot", "059.California_Gull", "060.Glaucous_winged_Gull", "061.Heermann_Gull",
    "062.Herring_Gull", "063.Ivory_Gull", "064.Ring_billed_Gull", "065.Slaty_backed_Gull",
    "066.Western_Gull", "067.Anna_Hummingbird", "068.Ruby_throated_Hummingbird", "069.Rufous_Hummingbird",
    "070.Green_Violetear", "071.Long_tailed_Jaeger", "072.Pomarine_Jaeger", "073.Blue_Jay",
    "074.Florida_Jay", "075.Green_Jay", "076.Dark_eyed_Junco", "077.Tropical_Kingbird", "078.Gray_Kingbird",
    "079.Belted_Kingfisher", "080.Green_Kingfisher", "081.Pied_Kingfisher", "082.Ringed_Kingfisher",
    "083.White_breasted_Kingfisher", "084.Red_legged_Kittiwake", "085.Horned_Lark", "086.Pacific_Loon",
    "087.Mallard", "088.Western_Meadowlark", "089.Hooded_Merganser", "090.Red_breasted_Merganser",
    "091.Mockingbird", "092.Nighthawk", "093.Clark_Nutcracker", "094.White_breasted_Nuthatch",
    "095.Baltimore_Oriole", "096.Hooded_Oriole", "097.Orchard_Oriole", "098.Scott_Oriole", "099.Ovenbird",
    "100.Brown_Pelican", "101.White_Pelican", "102.Western_Wood_Pewee", "103.Sayornis",
    "104.American_Pipit", "105.Whip_poor_Will", "106.Horned_Puffin", "107.Common_Raven",
    "108.White_necked_Raven", "109.American_Redstart", "110.Geococcyx", "111.Loggerhead_Shrike",
    "112.Great_Grey_Shrike", "113.Baird_Sparrow", "114.Black_throated_Sparrow", "115.Brewer_Sparrow",
    "116.Chipping_Sparrow", "117.Clay_colored_Sparrow", "118.House_Sparrow", "119.Field_Sparrow",
    "120.Fox_Sparrow", "121.Grasshopper_Sparrow", "122.Harris_Sparrow", "123.Henslow_Sparrow",
    "124.Le_Conte_Sparrow", "125.Lincoln_Sparrow", "126.Nelson_Sharp_tailed_Sparrow",
    "127.Savannah_Sparrow", "128.Seaside_Sparrow", "129.Song_Sparrow", "130.Tree_Sparrow",
    "131.Vesper_Sparrow", "132.White_crowned_Sparrow", "133.White_throated_Sparrow",
    "134.Cape_Glossy_Starling", "135.Bank_Swallow", "136.Barn_Swallow", "137.Cliff_Swallow",
    "138.Tree_Swallow", "139.Scarlet_Tanager", "140.Summer_Tanager", "141.Artic_Tern", "142.Black_Tern",
    "143.Caspian_Tern", "144.Common_Tern", "145.Elegant_Tern", "146.Forsters_Tern", "147.Least_Tern",
    "148.Green_tailed_Towhee", "149.Brown_Thrasher", "150.Sage_Thrasher", "151.Black_capped_Vireo",
    "152.Blue_headed_Vireo", "153.Philadelphia_Vireo", "154.Red_eyed_Vireo", "155.Warbling_Vireo",
    "156.White_eyed_Vireo", "157.Yellow_throated_Vireo", "158.Bay_breasted_Warbler",
    "159.Black_and_white_Warbler", "160.Black_throated_Blue_Warbler", "161.Blue_winged_Warbler",
    "162.Canada_Warbler", "163.Cape_May_Warbler", "164.Cerulean_Warbler", "165.Chestnut_sided_Warbler",
    "166.Golden_winged_Warbler", "167.Hooded_Warbler", "168.Kentucky_Warbler", "169.Magnolia_Warbler",
    "170.Mourning_Warbler", "171.Myrtle_Warbler", "172.Nashville_Warbler", "173.Orange_crowned_Warbler",
    "174.Palm_Warbler", "175.Pine_Warbler", "176.Prairie_Warbler", "177.Prothonotary_Warbler",
    "178.Swainson_Warbler", "179.Tennessee_Warbler", "180.Wilson_Warbler", "181.Worm_eating_Warbler",
    "182.Yellow_Warbler", "183.Northern_Waterthrush", "184.Louisiana_Waterthrush", "185.Bohemian_Waxwing",
    "186.Cedar_Waxwing", "187.American_Three_toed_Woodpecker", "188.Pileated_Woodpecker",
    "189.Red_bellied_Woodpecker", "190.Red_cockaded_Woodpecker", "191.Red_headed_Woodpecker",
    "192.Downy_Woodpecker", "193.Bewick_Wren", "194.Cactus_Wren", "195.Carolina_Wren", "196.House_Wren",
    "197.Marsh_Wren", "198.Rock_Wren", "199.Winter_Wren", "200.Common_Yellowthroat",
)  # fmt: skip

#: Default foreground threshold on the 0..255 soft masks (majority of the five annotators).
DEFAULT_THRESHOLD = 128


def readable_name(class_dir: str) -> str:
    """``"001.Black_footed_Albatross"`` -> ``"black footed albatross"`` (no number, "_" -> " ", lowered)."""
    name = (
        class_dir.split(".", 1)[1] if "." in class_dir and class_dir.split(".", 1)[0].isdigit() else class_dir
    )
    return " ".join(name.replace("_", " ").split()).lower()


#: Our class tuple: index 0 = background, index ``k`` = CUB class id ``k`` as readable text.
CUB_CLASSES: tuple[str, ...] = (BACKGROUND, *(readable_name(d) for d in CUB_CLASS_DIRS))


def _read_table(path: Path, columns: int, what: str) -> list[list[str]]:
    """Rows of a whitespace-separated CUB text file, each split into exactly ``columns`` fields."""
    require_file(path, what)
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.strip().split(maxsplit=columns - 1)
            if len(fields) != columns:
                raise DatasetError(
                    f"{path}, line {number}: expected {columns} fields, got {line.strip()!r}; "
                    "the file is damaged, re-extract CUB_200_2011.tgz"
                )
            rows.append(fields)
    return rows


def find_cub(root: str | os.PathLike) -> Path:
    """Locate the ``CUB_200_2011`` folder given it or the folder it was unpacked into."""
    root = Path(root)
    for candidate in (root, root / "CUB_200_2011"):
        if (candidate / "images.txt").is_file():
            return candidate
    raise DatasetError(
        f"{root}: no CUB-200-2011 folder here (looked for images.txt in it and in {root / 'CUB_200_2011'}); "
        "pass the folder CUB_200_2011.tgz was unpacked into"
    )


class CUBDataset(SegDataset):
    """CUB-200-2011 (11,788 images, 200 species) with per-image bird masks as labels.

    Args:
        root: ``CUB_200_2011`` or the folder holding it.
        unseen: Species names (readable form) held out as unseen, e.g. ``load_split("cub_150_50").unseen``.
        threshold: Mask values >= this (0..255) are bird. The default 128 is a 3-of-5 annotator majority.
        segmentations: The ``segmentations`` folder, when it is not next to or inside ``CUB_200_2011``.

    Example:
        >>> cub = CUBDataset("/data/CUB", unseen=load_split("cub_150_50").unseen)  # doctest: +SKIP
        >>> sample_id = cub.ids("test")[0]  # doctest: +SKIP
        >>> cub.classes[cub.label(sample_id).max()]  # doctest: +SKIP
        'black footed albatross'
    """

    classes = CUB_CLASSES

    def __init__(
        self,
        root: str | os.PathLike,
        unseen: Iterable[str] = (),
        threshold: int = DEFAULT_THRESHOLD,
        segmentations: str | os.PathLike | None = None,
    ) -> None:
        if not 1 <= threshold <= 255:
            raise ValueError(f"threshold must be in 1..255, got {threshold}")
        self.threshold = threshold
        self.root = find_cub(root)
        class_rows = _read_table(self.root / "classes.txt", 2, "classes.txt (class list)")
        self.class_dirs = tuple(d for _, d in class_rows)
        self.classes = (BACKGROUND, *(readable_name(d) for d in self.class_dirs))
        index_of_class_id = {cid: k for k, (cid, _) in enumerate(class_rows, start=1)}
        self.unseen = check_unseen(self.classes, unseen)

        paths = _read_table(self.root / "images.txt", 2, "images.txt (image list)")
        labels = dict(_read_table(self.root / "image_class_labels.txt", 2, "image_class_labels.txt"))
        is_train = dict(_read_table(self.root / "train_test_split.txt", 2, "train_test_split.txt"))
        self._path: dict[str, str] = {}
        self._class: dict[str, int] = {}
        self._split: dict[str, list[str]] = {"train": [], "test": []}
        for image_id, rel in paths:
            sample_id = rel.rsplit(".", 1)[0]
            if image_id not in labels or labels[image_id] not in index_of_class_id:
                raise DatasetError(
                    f"{self.root / 'image_class_labels.txt'}: no valid class for image {image_id} ({rel}); "
                    "the CUB text files do not match, re-extract CUB_200_2011.tgz"
                )
            if is_train.get(image_id) not in ("0", "1"):
                raise DatasetError(
                    f"{self.root / 'train_test_split.txt'}: no 0/1 entry for image {image_id} ({rel}); "
                    "the CUB text files do not match, re-extract CUB_200_2011.tgz"
                )
            self._path[sample_id] = rel
            self._class[sample_id] = index_of_class_id[labels[image_id]]
            self._split["train" if is_train[image_id] == "1" else "test"].append(sample_id)

        candidates = [Path(segmentations)] if segmentations else []
        candidates += [self.root / "segmentations", self.root.parent / "segmentations"]
        self.segmentation_dir = next((c for c in candidates if c.is_dir()), None)
        self._searched = candidates

    def splits(self) -> tuple[str, ...]:
        return ("train", "test")

    def ids(self, split: str) -> list[str]:
        if split not in self._split:
            raise DatasetError(f"no CUB split {split!r}; available: train, test (train_test_split.txt)")
        return list(self._split[split])

    def class_index_of(self, sample_id: str) -> int:
        """The class index (1..200) of the species shown in ``sample_id``."""
        return self._class[self._known(sample_id)]

    def _known(self, sample_id: str) -> str:
        if sample_id not in self._path:
            raise DatasetError(
                f"{self.root / 'images.txt'}: no image {sample_id!r}; ids look like "
                "'001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111'"
            )
        return sample_id

    def image_path(self, sample_id: str) -> Path:
        return self.root / "images" / self._path[self._known(sample_id)]

    def mask_path(self, sample_id: str) -> Path:
        if self.segmentation_dir is None:
            raise DatasetError(
                f"{self._searched[-1]}: the segmentations folder is missing (also looked in "
                f"{', '.join(str(c) for c in self._searched[:-1])}); unpack segmentations.tgz next to "
                "CUB_200_2011 or pass segmentations="
            )
        return self.segmentation_dir / f"{self._known(sample_id)}.png"

    def image(self, sample_id: str) -> np.ndarray:
        return read_image(require_file(self.image_path(sample_id), f"the image of {sample_id!r}"))

    def soft_mask(self, sample_id: str) -> np.ndarray:
        """The raw soft mask of ``sample_id`` as ``uint8 [H, W]`` (0..255)."""
        path = require_file(self.mask_path(sample_id), f"the segmentation mask of {sample_id!r}")
        rgb = read_image(path)  # grey, palette and the odd RGB-saved mask all come out as equal channels
        return np.rint(rgb.mean(axis=2)).astype(np.uint8)

    def label(self, sample_id: str) -> np.ndarray:
        foreground = self.soft_mask(sample_id) >= self.threshold
        return np.where(foreground, np.uint8(self.class_index_of(sample_id)), np.uint8(0))

    def attribute_names(self) -> tuple[str, ...]:
        """The 312 attribute names of ``attributes.txt`` (e.g. ``"has_bill_shape::curved_(up_or_down)"``)."""
        candidates = [
            self.root.parent / "attributes.txt",
            self.root / "attributes.txt",
            self.root / "attributes" / "attributes.txt",
        ]
        path = next((c for c in candidates if c.is_file()), candidates[0])
        return tuple(name for _, name in _read_table(path, 2, "attributes.txt (attribute names)"))

    def class_attributes(self) -> np.ndarray:
        """Per-class attribute strengths, ``float32 [classes - 1, 312]`` in percent; row k - 1 = class k."""
        path = require_file(
            self.root / "attributes" / "class_attribute_labels_continuous.txt",
            "attributes/class_attribute_labels_continuous.txt",
        )
        try:
            table = np.loadtxt(path, dtype=np.float32, ndmin=2)
        except ValueError as exc:
            raise DatasetError(
                f"{path}: not a table of numbers ({exc}); re-extract CUB_200_2011.tgz"
            ) from exc
        if table.shape[0] != len(self.class_dirs):
            raise DatasetError(
                f"{path}: {table.shape[0]} rows but classes.txt lists {len(self.class_dirs)} classes; "
                "re-extract CUB_200_2011.tgz"
            )
        if table.size and (table.min() < 0 or table.max() > 100):
            raise DatasetError(f"{path}: values outside 0..100 percent; re-extract CUB_200_2011.tgz")
        return table
