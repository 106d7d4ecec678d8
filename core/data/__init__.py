"""Datasets: the zerolabel layout, the papers' datasets, zero-shot views, unlabeled folders, shapes."""
