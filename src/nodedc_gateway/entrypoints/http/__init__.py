"""The HTTP application (`http.app.create_app`): the internal API, pairing, the console,
OAuth and the MCP endpoint, on Litestar. The package itself imports nothing, so any of
its modules (`problems`, say, which the MCP endpoint uses) can be imported first."""
