"""Watchlist persons, reference photos, templates and the 1:N index."""
