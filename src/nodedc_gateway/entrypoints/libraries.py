"""structlog and dependency-injector, imported without an optional integration each
looks for when it is imported and the gateway never uses; and `without`, which the MCP
server's construction uses the same way. The entry points import structlog and
dependency-injector from here only (an import-linter contract says so), so whichever
module comes first, the process never loads those integrations.

- structlog imports rich, when installed (Litestar requires it), to format tracebacks in
  its console renderer; our chain formats them itself (`format_exc_info`) before the
  redactor, so no exception reaches a renderer.
- The MCP SDK's `MCPServer` imports rich as it is made, for a handler it gives the root
  logger only when that has none (`logging.basicConfig`); `serve` configures the root
  logger first, and without rich a process logging nowhere gets the standard library's
  plain handler instead.
- dependency-injector's wiring imports Werkzeug's `LocalProxy`, when installed (a test
  tool's dependency here, not the gateway's), to recognise Flask's proxies; the
  container wires nothing.

Measured in `serve`'s imports on 2026-12-07 (one process each): 5.7 MiB less resident
memory with both left out (3.8 MiB rich, 1.9 MiB Werkzeug), and about 60 ms less time.
Any later `import` of them works as usual: they are hidden only while these libraries
are imported or the MCP server is made.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

#: The optional integrations left out, by the library that would import them.
LEFT_OUT = {"structlog": ("rich",), "mcp": ("rich",), "dependency_injector": ("werkzeug",)}


@contextlib.contextmanager
def without(names: tuple[str, ...]) -> Iterator[None]:
    """Within the block, importing any of `names` fails as if it were not installed
    (`ImportError`), unless it is imported already; afterwards it imports as usual. For
    start-up: `sys.modules` is the process's, so another thread importing one of `names`
    meanwhile would be refused as well."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "absent"
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


with without(LEFT_OUT["structlog"]):
    import structlog
with without(LEFT_OUT["dependency_injector"]):
    from dependency_injector import containers, providers

__all__ = ["LEFT_OUT", "containers", "providers", "structlog", "without"]
