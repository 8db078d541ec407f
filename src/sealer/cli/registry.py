"""CLI commands (placeholder until this group lands)."""

from __future__ import annotations

import click

commands: list[click.Command] = []
