"""Sources, frame sampling, the per-camera watcher and alert emission."""
