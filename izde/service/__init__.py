"""The service layer behind the CLI, the HTTP API and the Python API: permission-checked and audited."""
