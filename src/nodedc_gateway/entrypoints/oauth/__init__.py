"""MCP authorization (CONTRACT §14): `/mcp` as an OAuth 2.1 protected resource and the
gateway as its own authorization server, built on the MCP SDK's `mcp.server.auth` pieces."""
