"""Serialise the metrics dict (strict JSON, atomic write) and render it as a text table for the CLI."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from core.metrics.confusion import MetricsError

SUBSET_KEYS = ("seen", "unseen", "overall")
METRIC_KEYS = ("PA", "MA", "mIoU")
CONTRACT_KEYS = ("setting", *SUBSET_KEYS, "hIoU", "per_class")


def check_contract(metrics: dict) -> None:
    """Raise :class:`MetricsError` unless ``metrics`` follows the ARCHITECTURE.md metrics contract.

    Every fraction must be ``None`` or a finite number in ``[0, 1]``.
    """
    missing = [key for key in CONTRACT_KEYS if key not in metrics]
    if missing:
        raise MetricsError(f"metrics lack the keys {missing}")
    if metrics["setting"] not in ("zlss", "gzlss"):
        raise MetricsError(f"metrics setting must be 'zlss' or 'gzlss', got {metrics['setting']!r}")
    values = {"hIoU": metrics["hIoU"], **{f"per_class.{k}": v for k, v in metrics["per_class"].items()}}
    for subset in SUBSET_KEYS:
        part = metrics[subset]
        if set(part) != set(METRIC_KEYS):
            raise MetricsError(
                f"metrics[{subset!r}] must hold exactly {list(METRIC_KEYS)}, got {sorted(part)}"
            )
        values.update({f"{subset}.{k}": part[k] for k in METRIC_KEYS})
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, int | float) or not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise MetricsError(f"metric {name} = {value!r} is not a fraction in [0, 1]")


def to_json(metrics: dict) -> str:
    """Strict JSON text (no NaN), indented, ending in a newline.

    Example:
        >>> to_json({"hIoU": None}).strip()
        '{\\n  "hIoU": null\\n}'
    """
    return json.dumps(metrics, indent=2, allow_nan=False) + "\n"


def write_json(metrics: dict, path: str | os.PathLike) -> Path:
    """Check ``metrics`` against the contract and write it atomically to ``path``; returns the path.

    Example:
        >>> write_json(evaluator.result(), "runs/voc/metrics.json")  # doctest: +SKIP
    """
    # Imported here: the core.io package pulls in Pillow, which computing metrics never needs.
    from core.io.atomic import atomic_write_text

    check_contract(metrics)
    target = Path(path)
    atomic_write_text(target, to_json(metrics))
    return target


def read_json(path: str | os.PathLike) -> dict:
    """Read a metrics file written by :func:`write_json` and check it against the contract."""
    target = Path(path)
    try:
        metrics = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise MetricsError(f"cannot read metrics from {target}: {exc}") from exc
    if not isinstance(metrics, dict):
        raise MetricsError(f"{target} does not hold a metrics object")
    try:
        check_contract(metrics)
    except MetricsError as exc:
        raise MetricsError(f"{target}: {exc}") from exc
    return metrics


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        rest = [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        cells = [row[0].ljust(widths[0]), *rest]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_table(metrics: dict) -> str:
    """Render the metrics dict as aligned text (percentages, ``n/a`` for undefined values).

    Example:
        >>> print(format_table(evaluator.result()))  # doctest: +SKIP
        GZLSS | 12 images | hIoU 47.5
        subset      PA    MA  mIoU
        seen      93.6  84.9  72.0
        ...
    """
    head = [metrics.get("setting", "?").upper()]
    if "num_images" in metrics:
        head.append(f"{metrics['num_images']} images")
    head.append(f"hIoU {_pct(metrics.get('hIoU'))}")
    if metrics.get("gamma"):
        head.append(f"calibration gamma {metrics['gamma']:g}")
    lines = [" | ".join(head)]
    rows = [[s, *(_pct(metrics[s][k]) for k in METRIC_KEYS)] for s in SUBSET_KEYS]
    lines += _table(["subset", *METRIC_KEYS], rows)
    per_class = metrics.get("per_class", {})
    sizes = metrics.get("object_size", {})
    if per_class:
        lines.append("")
        rows = [[name, _pct(iou), _pct(sizes.get(name))] for name, iou in per_class.items()]
        lines += _table(["class", "IoU", "avg size"], rows)
    buckets = metrics.get("size_buckets")
    if buckets:
        lines.append("")
        rows = []
        for bucket in buckets:
            lo, hi = bucket["range"]
            label = f"size {100 * lo:g}-{100 * hi:g}%"
            rows.append([label, *(f"{_pct(bucket[s]['IoU'])} ({bucket[s]['objects']})" for s in SUBSET_KEYS)])
        lines += _table(["IoU by object size", *(f"{s} (n)" for s in SUBSET_KEYS)], rows)
    absent = metrics.get("absent_predicted", {})
    if absent:
        lines.append("")
        listed = ", ".join(f"{name} ({_pct(frac)}% of pixels)" for name, frac in absent.items())
        lines.append(f"predicted but absent from the ground truth: {listed}")
    return "\n".join(lines)
