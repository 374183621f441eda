"""The `govperf` command: run, migrate and operate the platform."""
