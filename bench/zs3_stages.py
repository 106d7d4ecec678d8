"""ZS3Net stage by stage on a trained run: is the network fine, is the generator fine, is the refit fine?

(a) stage 1 alone: the network with its seen-class rows (background + seen), seen mIoU on the seen-only val
split and on the test split (unseen pixels ignored there: the stage-1 model cannot name them).
(b) the generator measured as in the ZS3Net paper, on *seen* classes held out of its training: MMD between
generated and real features of each held-out class vs MMD between two real samples of it and vs MMD to the
real features of the other classes; generated features classified by the nearest real class mean and by a
linear classifier trained on real features (accuracy = the generated feature lands in its own class).
(c) after the refit (``core.models.zs3net.fit_unseen`` as training runs it): GZLSS seen / unseen / hIoU and
ZLSS unseen on the test split, and the share of pixels predicted as an unseen class.
(d) one change at a time to the stage-2 recipe. Every setting is *chosen* on seen classes only: a few seen
classes play unseen ("pseudo-unseen": the generator and the refit never see their real features) and the
choice is the pseudo-unseen GZLSS hIoU on the seen-only val split. The real unseen test numbers of each row
are printed beside it, never used to choose.

The network is encoded once (features cached in ``--cache``); every stage-2 variant then runs in seconds.

Usage: ``python bench/zs3_stages.py RUN/stage1.pt --data /tmp/shapes [--cache /tmp/zs3cache.pt]``; writes
``bench/results/zs3_stages.md``.
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from core.data.open import open_dataset
from core.embeddings import build_encoder
from core.inference.preprocess import Preprocessing, preprocess
from core.metrics import Evaluator
from core.models import gmmn, load_checkpoint
from core.models.base import predict_probabilities
from core.models.zs3fit import fit_unseen, label_shares
from core.models.zs3net import ZS3Net

RESULTS = Path(__file__).resolve().parent / "results"
#: Seen classes that play unseen when choosing settings: one of each colour, one of each shape.
PSEUDO = ("red circle", "green star", "blue heart", "yellow square", "purple triangle")


@dataclass
class Split:
    feats: torch.Tensor  # [N, K, h, w] float16
    labels: torch.Tensor  # [N, H, W] uint8 (255 ignore)


@torch.no_grad()
def encode_split(model: ZS3Net, dataset, split: str, drop: set[int] | None = None) -> Split:
    """Features and labels of every image of ``split`` (images holding a class of ``drop`` are skipped)."""
    record = Preprocessing.for_model(model)
    feats, labels = [], []
    for sample_id in dataset.ids(split):
        sample = dataset.sample(sample_id)
        if drop and drop & set(np.unique(sample.label).tolist()):
            continue
        feats.append(model.encode(torch.from_numpy(preprocess(sample.image, record)))[0][0].half())
        labels.append(torch.from_numpy(sample.label.astype(np.uint8)))
    return Split(torch.stack(feats), torch.stack(labels))


def pixels(split: Split, keep: list[int], per_class: int, seed: int = 0) -> dict[int, torch.Tensor]:
    """Up to ``per_class`` pixel features per label value in ``keep`` (labels downsampled nearest)."""
    lab = F.interpolate(split.labels[:, None].float(), size=split.feats.shape[-2:], mode="nearest")
    lab = lab[:, 0].long().flatten()
    flat = split.feats.permute(0, 2, 3, 1).reshape(-1, split.feats.shape[1])
    g = torch.Generator().manual_seed(seed)
    out = {}
    for c in keep:
        idx = (lab == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)[:per_class]]
        if len(idx):
            out[c] = flat[idx].float()
    return out


@torch.no_grad()
def evaluate(model: ZS3Net, split: Split, names: list[str], matrix: torch.Tensor, unseen: list[str],
             setting: str, classes: list[int] | None = None) -> dict:
    """Metrics of ``model`` on cached features, exactly as ``core.evaluate`` (bilinear logits, softmax).

    ``classes``: score only these label values (others' ground truth ignored); default every class.
    """
    keep = classes or list(range(1, len(names)))
    lut = torch.full((256,), 255, dtype=torch.long)
    lut[0] = 0
    lut[torch.tensor(keep)] = torch.arange(1, len(keep) + 1)
    ev_names = [names[0]] + [names[c] for c in keep]
    ev = Evaluator(ev_names, unseen=[n for n in unseen if n in ev_names], setting=setting, size_edges=None)
    predicted_unseen, total = 0, 0
    unseen_cols = [i + 1 for i, c in enumerate(keep) if names[c] in unseen]
    for start in range(0, len(split.feats), 50):
        feats = (split.feats[start:start + 50].float(),)
        target = lut[split.labels[start:start + 50].long()]
        probs = predict_probabilities(model, feats, matrix[[c - 1 for c in keep]], target.shape[-2:])
        ev.add_scores(probs.numpy(), target.numpy())
        pred = probs.argmax(1)
        predicted_unseen += int(torch.isin(pred, torch.tensor(unseen_cols, dtype=torch.long)).sum())
        total += pred.numel()
    out = ev.result()
    out["unseen_pixel_share"] = predicted_unseen / max(1, total)
    return out


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def mmd_table(gen, feats: dict[int, torch.Tensor], emb: dict[int, torch.Tensor], held: list[int],
              n: int = 300) -> dict:
    """Generator quality on held-out classes: MMD and nearest-class accuracies (part b)."""
    classes = sorted(feats)
    means = torch.stack([feats[c].mean(0) for c in classes])
    clf = torch.nn.Linear(means.shape[1], len(classes))
    x = torch.cat([feats[c] for c in classes])
    y = torch.cat([torch.full((len(feats[c]),), i) for i, c in enumerate(classes)])
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
    for _ in range(300):
        loss = F.cross_entropy(clf(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    rows = {"own": [], "real_vs_real": [], "wrong_mean": [], "wrong_min": [], "acc_mean": [], "acc_clf": []}
    for i, c in enumerate(held):
        fake = gmmn.generate(gen, emb[c], n, seed=i)
        real = feats[c]
        half = len(real) // 2
        rows["own"].append(float(gmmn.mmd(fake, real[:n])))
        rows["real_vs_real"].append(float(gmmn.mmd(real[:half][:n], real[half:][:n])))
        wrong = [float(gmmn.mmd(fake, feats[o][:n])) for o in classes if o != c]
        rows["wrong_mean"].append(float(np.mean(wrong)))
        rows["wrong_min"].append(float(np.min(wrong)))
        target = classes.index(c)
        rows["acc_mean"].append(float((torch.cdist(fake, means).argmin(1) == target).float().mean()))
        with torch.no_grad():
            rows["acc_clf"].append(float((clf(fake).argmax(1) == target).float().mean()))
    return {k: float(np.mean(v)) for k, v in rows.items()}


class Bench:
    """A stage-1 checkpoint with its cached train / val / test features and the class bookkeeping."""

    def __init__(self, checkpoint: Path, data: str, cache: Path) -> None:
        self.model, ckpt = load_checkpoint(checkpoint)
        self.model.eval()
        dataset = open_dataset(data)
        self.names = list(dataset.classes)
        self.unseen = list(dataset.unseen)
        self.unseen_ids = [self.names.index(n) for n in self.unseen]
        self.seen_ids = [c for c in range(1, len(self.names)) if c not in self.unseen_ids]
        self.matrix = torch.from_numpy(build_encoder(ckpt.embedding_source).embed(self.names[1:]))
        self.emb = {c: self.matrix[c - 1] for c in range(1, len(self.names))}
        key = f"{checkpoint.resolve()}:{checkpoint.stat().st_mtime_ns}"
        cached = torch.load(cache, weights_only=False) if cache.exists() else None
        if cached is None or cached["key"] != key:
            torch.set_grad_enabled(False)
            splits = {s: encode_split(self.model, dataset, s, set(self.unseen_ids)) for s in ("train", "val")}
            splits["test"] = encode_split(self.model, dataset, "test")
            torch.set_grad_enabled(True)
            cached = {"key": key, **{s: (x.feats, x.labels) for s, x in splits.items()}}
            torch.save(cached, cache)
        self.train, self.val, self.test = (Split(*cached[s]) for s in ("train", "val", "test"))

    def stage1(self) -> ZS3Net:
        return copy.deepcopy(self.model)

    def seen_features(self, exclude: tuple[int, ...] = (), per_class: int = 3000) -> dict[int, torch.Tensor]:
        """Real training features of background + seen classes (minus ``exclude``), as stage 2 takes them."""
        return pixels(self.train, [0, *[c for c in self.seen_ids if c not in exclude]], per_class)

    def fit(self, classes: list[int], seen: list[int], **kwargs) -> ZS3Net:
        """Stage 1 + ``fit_unseen`` for label values ``classes`` from the real features of ``seen`` only (the
        bank keeps only the rows of ``seen``: no trace of the others' real features)."""
        model = self.stage1()
        rows = model.rows_for(self.matrix[[c - 1 for c in seen]])
        model.set_bank(model.weight[rows], model.bias[rows], model.class_embeddings[rows],
                       [self.names[c] for c in seen])
        feats = self.seen_features(exclude=tuple(c for c in self.seen_ids if c not in seen))
        if kwargs.pop("adjust", True):  # the training pixels' class shares, as training/zs3stage.py passes
            counts = label_shares(self.train.labels.long(), self.train.feats.shape[-2:], [0, *seen])
            kwargs.setdefault("priors", {c: n / sum(counts.values()) for c, n in counts.items()})
        fit_unseen(model, [self.names[c] for c in classes], self.matrix[[c - 1 for c in classes]], feats,
                   {c: self.emb[c] for c in seen}, **kwargs)
        return model

    def pseudo(self, **kwargs) -> dict:
        """Choice criterion: PSEUDO seen classes as unseen, GZLSS on the seen-only val split."""
        held = [self.names.index(n) for n in PSEUDO]
        model = self.fit(held, [c for c in self.seen_ids if c not in held], **kwargs)
        return evaluate(model, self.val, self.names, self.matrix, list(PSEUDO), "gzlss", self.seen_ids)

    def real(self, **kwargs) -> dict[str, dict]:
        """The real protocol: unseen test classes, GZLSS and ZLSS on the test split (reported, never chosen on)."""
        model = self.fit(self.unseen_ids, self.seen_ids, **kwargs)
        return {s: evaluate(model, self.test, self.names, self.matrix, self.unseen, s) for s in ("gzlss", "zlss")}


def row(label: str, pseudo: dict, real: dict[str, dict]) -> str:
    g, z = real["gzlss"], real["zlss"]
    return (f"| {label} | {pct(pseudo['seen']['mIoU'])} | {pct(pseudo['unseen']['mIoU'])} | {pct(pseudo['hIoU'])} "
            f"| {pct(g['seen']['mIoU'])} | {pct(g['unseen']['mIoU'])} | {pct(g['hIoU'])} "
            f"| {pct(z['unseen']['mIoU'])} | {pct(g['unseen_pixel_share'])} |")


def stage1_lines(b: Bench) -> list[str]:
    model = b.stage1()
    val = evaluate(model, b.val, b.names, b.matrix, [], "gzlss", b.seen_ids)
    test = evaluate(model, b.test, b.names, b.matrix, [], "gzlss", b.seen_ids)
    return ["## (a) Stage 1 alone (background + seen rows)", "",
            "| split | seen mIoU | background IoU |", "|---|---|---|",
            f"| val (seen only) | {pct(val['seen']['mIoU'])} | {pct(val['per_class'][b.names[0]])} |",
            f"| test (unseen pixels ignored) | {pct(test['seen']['mIoU'])} | {pct(test['per_class'][b.names[0]])} |",
            ""]


def generator_lines(b: Bench, steps: int, **gen_kwargs) -> list[str]:
    held = [b.names.index(n) for n in PSEUDO]
    feats = b.seen_features()
    del feats[0]
    train = {c: f for c, f in feats.items() if c not in held}
    lines = ["## (b) The generator on held-out seen classes (" + ", ".join(PSEUDO) + ")", "",
             "GMMN trained on the other 15 seen classes; 300 generated vs 300 real features per held-out class; "
             "means over the 5 classes. Nearest-mean and linear-classifier accuracies are 20-way (all seen).", "",
             "| generator | MMD(gen, own real) | MMD(real, real) | MMD(gen, other classes) mean / min "
             "| nearest mean acc | linear clf acc |", "|---|---|---|---|---|---|"]
    for label, kw in gen_kwargs.items():
        gen = gmmn.GMMN(b.matrix.shape[1], feats[held[0]].shape[1])
        torch.manual_seed(0)
        emb = {c: F.normalize(b.emb[c], dim=0) for c in feats}
        gmmn.train_generator(gen, train, emb, steps=steps, **kw)
        r = mmd_table(gen, feats, emb, held)
        lines.append(f"| {label} | {r['own']:.3f} | {r['real_vs_real']:.3f} | {r['wrong_mean']:.3f} / "
                     f"{r['wrong_min']:.3f} | {pct(r['acc_mean'])} | {pct(r['acc_clf'])} |")
    return [*lines, ""]


HEADER = ["| recipe | pseudo seen | pseudo unseen | pseudo hIoU | test GZLSS seen | unseen | hIoU | test ZLSS unseen "
          "| unseen pixel share |", "|---|---|---|---|---|---|---|---|---|"]


#: (d) one change at a time from the final recipe (``fit_unseen``'s defaults with the training pixels' shares).
SWEEP = {
    "before: paper lr 2e-4, 500 generated / class, no logit adjustment": {"generator_lr": 2e-4, "per_class": 500,
                                                                          "adjust": False},
    "final recipe (defaults)": {},
    "generator lr 2e-4 (paper)": {"generator_lr": 2e-4},
    "no logit adjustment (balanced refit only)": {"adjust": False},
    "500 generated / class (not as many as real)": {"per_class": 500},
    "unseen prior x3": {"unseen_prior": 3.0},
    "unseen prior x10": {"unseen_prior": 10.0},
    "unseen prior x30": {"unseen_prior": 30.0},
    "unseen prior x100": {"unseen_prior": 100.0},
    "unseen prior x300": {"unseen_prior": 300.0},
    "unseen prior x1000": {"unseen_prior": 1000.0},
    "generator 1500 steps": {"steps": 1500},
}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", type=Path, help="a stage-1 zs3net checkpoint (RUN/stage1.pt)")
    p.add_argument("--data", required=True)
    p.add_argument("--cache", type=Path, default=Path("/tmp/zs3_stages_cache.pt"))
    p.add_argument("--out", type=Path, default=RESULTS / "zs3_stages.md")
    p.add_argument("--rows", default="", help="comma-separated row numbers of the sweep to run (default all)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    b = Bench(args.checkpoint, args.data, args.cache)
    lines = ["# ZS3Net stage by stage", "", __doc__.split("\n\n", 1)[1].split("Usage")[0].strip(), "",
             f"`python bench/zs3_stages.py {args.checkpoint} --data {args.data}`", ""]
    lines += stage1_lines(b)
    print("\n".join(lines), flush=True)
    lines += generator_lines(b, 400, **{"lr 2e-4 (paper), 400 steps": {"lr": 2e-4},
                                        "lr 2e-3, 400 steps (final)": {"lr": 2e-3}})
    print("\n".join(lines[-8:]), flush=True)
    lines += ["## (c, d) After the refit, one change at a time", "",
              "pseudo = 5 seen classes as unseen (the generator and the refit never see their real features), "
              "GZLSS on the seen-only val split: the criterion every setting was chosen on. test = the real "
              "unseen classes on the test split, reported only.", "", *HEADER]
    chosen = [int(x) for x in args.rows.split(",")] if args.rows else range(len(SWEEP))
    for i, (label, kw) in enumerate(SWEEP.items()):
        if i in chosen:
            lines.append(row(label, b.pseudo(**kw), b.real(**kw)))
            print(lines[-1], flush=True)
    lines.append(f"\n{time.perf_counter() - started:.0f} s on one CPU thread (features cached)")
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
