"""Retrospective search of a case's recorded footage: archives, chunks of work, sightings and their report."""
