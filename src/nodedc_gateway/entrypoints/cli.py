"""The `nodedc-gateway` command line."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="nodedc-gateway")
def main() -> None:
    """NODE.DC Agent Gateway: AI coding agents in Tasker, within what a human granted."""


@main.command()
def demo() -> None:
    """Seed the sandbox Tasker, create a demo agent and print the Codex config."""
    click.echo("The HTTP service is not served yet; `demo` arrives with the internal API.")
