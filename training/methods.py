"""What training needs to know about each method, in one table: adding a method is one entry here plus its
model builder (``core.models``, registered by name).

The trainer, the presets and self-training read these descriptions instead of branching on method names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """How one method trains.

    Attributes:
        name: the ``--method`` value (also the model registry's name).
        episodic: RN-style episodes (a sample of seen classes per step, ``training.episodes``) instead of every
            seen class at once.
        loss: ``relation`` (the episode's relation loss: softmax over background + episode classes when the model
            scores background, else the paper's weighted BCE + Dice), ``softmax`` (cross-entropy over background
            + seen classes) or ``cosine`` (DeViSE's regression of the class embedding).
        uses_words: the model consumes class embeddings (``False``: ``embed_dim`` 0, the U-Net baseline).
        generator_stage: after training, fit the feature generator and refit the classifier for the unseen names
            (ZS3Net; ``training.zs3stage``).
        selftrains: the method can be self-trained on unlabeled images (ZS5Net; ``training.selftrain``).
    """

    name: str
    episodic: bool
    loss: str
    uses_words: bool = True
    generator_stage: bool = False
    selftrains: bool = False


_TABLE = (
    Method("rn", episodic=True, loss="relation"),
    Method("unet", episodic=True, loss="relation", uses_words=False),
    Method("spnet", episodic=False, loss="softmax", selftrains=True),
    Method("devise", episodic=False, loss="cosine", selftrains=True),
    Method("zs3net", episodic=False, loss="softmax", generator_stage=True, selftrains=True),
    Method("zs3net-gc", episodic=False, loss="softmax", generator_stage=True, selftrains=True),
)
METHODS: dict[str, Method] = {m.name: m for m in _TABLE}


def method(name: str) -> Method:
    """The description of ``name``; ``ValueError`` naming the known methods otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}") from None
