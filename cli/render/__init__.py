"""Printers: each takes an engine model and writes it for people."""
