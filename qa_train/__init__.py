"""Fitting and exporting the shipped models (reader, fusion, choice) and the harness their
measurements share; nothing that answers a question imports this package (tests/test_layers.py)."""
