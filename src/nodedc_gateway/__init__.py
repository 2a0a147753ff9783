"""NODE.DC Agent Gateway: AI coding agents in Tasker, within what a human granted."""

__version__ = "0.1.0"
