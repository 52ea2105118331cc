"""Periodic housekeeping jobs (auto-close, rating requests, pruning) and their registration."""
