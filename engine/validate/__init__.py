"""Validators that run the workspace's real TypeScript toolchain."""
