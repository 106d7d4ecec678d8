"""ZS5Net: self-training of a ZS3Net-style model on a folder of unlabeled images (ZS3Net paper, Sec. 3.3).

Each round: predict every unlabeled image with all classes (seen + unseen), keep for each *unseen* class the top
p % most confident pixels predicted as that class (paper: p = 25 on VOC, 75 on Pascal-Context) as pseudo-labels,
everything else ignored; then fine-tune the network on batches of the seen-class training data plus
pseudo-labelled images. Unseen ground truth is never read: pseudo-labels come from the model's own predictions
on images without labels.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from core.data.base import IGNORE_INDEX
from core.data.layout import LayoutDataset
from core.data.unlabeled import UnlabeledFolder
from core.embeddings import build_encoder
from core.errors import ZerolabelError
from core.io.atomic import atomic_write_text
from core.models import load_checkpoint, save_checkpoint
from core.models.base import predict_probabilities
from training.config import TrainConfig
from training.data import TrainData, resize_pair, to_tensor
from training.distributed import device_for
from training.losses import softmax_loss
from training.messages import Finished, Log, Message, Started, StepDone


def pseudo_labels(probs: list[np.ndarray], unseen_columns: list[int], top_p: float) -> list[np.ndarray]:
    """Pseudo-label maps (column index of the class, 255 elsewhere) from ``[1 + C, H, W]`` probabilities.

    For each unseen column u, among all pixels of all images whose argmax is u, the top ``top_p`` % by
    probability are kept (one threshold per class over the whole set, as in the paper).
    """
    argmax = [p.argmax(0) for p in probs]
    conf = [p.max(0) for p in probs]
    out = [np.full(a.shape, IGNORE_INDEX, np.uint8) for a in argmax]
    for u in unseen_columns:
        values = np.concatenate([c[a == u] for a, c in zip(argmax, conf, strict=True)])
        if values.size == 0:
            continue
        threshold = np.percentile(values, 100 - top_p)
        for o, a, c in zip(out, argmax, conf, strict=True):
            o[(a == u) & (c >= threshold)] = u
    return out


def selftrain(
    run: str | Path,
    unlabeled: str | Path,
    out: str | Path,
    *,
    top_p: float = 25.0,
    rounds: int = 1,
    steps: int = 300,
    lr: float | None = None,
    messages: queue.Queue | None = None,
    stop: threading.Event | None = None,
) -> Path | None:
    """Self-train the checkpoint of ``run`` (a ZS3Net-style softmax model) and write ``out/best.pt``.

    Progress goes to ``messages`` as the trainer's typed messages (:class:`Started`, :class:`StepDone`, ...,
    :class:`Finished`); setting ``stop`` ends the run early without writing a model (status ``stopped``,
    returns ``None``). Runs on ``cuda`` when torch sees a GPU (``ZEROLABEL_DEVICE=cpu`` forces the CPU).
    """
    emit = messages.put if messages is not None else (lambda _msg: None)
    stop = stop or threading.Event()
    try:
        return _selftrain(Path(run), unlabeled, Path(out), top_p, rounds, steps, lr, emit, stop)
    except ZerolabelError as exc:
        emit(Finished("failed", 0, error=str(exc)))
        raise


def _selftrain(run: Path, unlabeled, out: Path, top_p: float, rounds: int, steps: int, lr: float | None,
               emit: Callable[[Message], None], stop: threading.Event) -> Path | None:
    ckpt_path = run / "best.pt" if run.is_dir() else run
    model, ckpt = load_checkpoint(ckpt_path)
    device = device_for(0)
    model.to(device)
    if model.activation != "softmax":
        raise ZerolabelError(f"{ckpt_path}: self-training (ZS5Net) needs a zs3net/zs3net-gc/spnet/devise model, "
                             f"not {ckpt.config.method}")
    try:
        cfg = TrainConfig.from_dict(json.loads(ckpt.extra["train_config"]))
    except (KeyError, TypeError, ValueError) as exc:  # ConfigError is a ZerolabelError: it names what is wrong
        raise ZerolabelError(f"{ckpt_path}: holds no readable training config ({exc}); self-train a run folder "
                             "of `zerolabel train`") from None
    dataset = LayoutDataset(cfg.data, unseen=ckpt.split["unseen"])
    classes = list(dataset.classes)
    columns = classes[1:]  # score columns: every non-background class, dataset order
    unseen_cols = [columns.index(u) + 1 for u in ckpt.split["unseen"]]
    encoder = build_encoder(ckpt.embedding_source)
    matrix = torch.from_numpy(encoder.embed(columns)).to(device)
    folder = UnlabeledFolder(unlabeled)
    images = [resize_pair(img, None, cfg.image_size)[0] for _, img in folder]
    if not images:
        raise ZerolabelError(f"{unlabeled}: no readable images to self-train on")
    train = TrainData(dataset, "train", view=cfg.view, size=cfg.image_size)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr or cfg.lr * 0.1,
                          momentum=0.9, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    total = rounds * steps
    emit(Started(str(out), "zs5net", total, device=str(device)))
    started, done = time.perf_counter(), 0
    for r in range(rounds):
        model.eval()
        with torch.no_grad():
            probs = [predict_probabilities(model, model.encode(to_tensor(img[None]).to(device)), matrix,
                                           img.shape[:2])[0].cpu().numpy()
                     for img in images]
        labels = pseudo_labels(probs, unseen_cols, top_p)
        kept = {columns[u - 1]: int(sum((lab == u).sum() for lab in labels)) for u in unseen_cols}
        emit(Log(f"round {r + 1}/{rounds}: pseudo-labelled pixels per unseen class on {len(images)} images: "
                 + ", ".join(f"{name} {count}" for name, count in kept.items())))
        model.train()
        for step in range(steps):
            if stop.is_set():
                emit(Finished("stopped", done, error="stopped before the end: no model was written; start again"))
                return None
            batch = train.batch(step, cfg.batch_size // 2, cfg.seed + 1000)
            pick = rng.choice(len(images), size=cfg.batch_size // 2)
            x = torch.cat([batch.images, to_tensor(np.stack([_square(images[i], cfg.image_size) for i in pick]))])
            y_pseudo = torch.from_numpy(np.stack([_square(labels[i], cfg.image_size) for i in pick]).astype(np.int64))
            y = torch.cat([batch.labels, y_pseudo]).to(device)  # dataset index == column index (background 0)
            feats = model.encode(x.to(device))
            loss = softmax_loss(model.score(feats, matrix), model.background_score(feats), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            rate = (time.perf_counter() - started) / done
            emit(StepDone(done, total, float(loss.detach()), opt.param_groups[0]["lr"], rate * (total - done)))
    extra = {**ckpt.extra, "selftrain": {"unlabeled": str(unlabeled), "top_p": top_p, "rounds": rounds,
                                         "steps": steps, "images": len(images), "skipped": len(folder.failures)}}
    save_checkpoint(out / "best.pt", model.eval().cpu(), embedding_source=ckpt.embedding_source, split=ckpt.split,
                    extra=extra, step=ckpt.step + rounds * steps)
    atomic_write_text(out / "config.json", dataclasses.replace(cfg, out=str(out)).to_json())
    emit(Finished("done", total, str(out / "best.pt")))
    return out / "best.pt"


def _square(array: np.ndarray, size: int) -> np.ndarray:
    """Centre square crop of side ``size`` (images are resized with the short side at ``size``)."""
    h, w = array.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return array[y : y + size, x : x + size]
