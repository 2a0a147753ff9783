"""The gateway's benchmarks: `make bench` (`python -m bench`).

Every figure is printed as a ratio against a baseline measured in the same run, on the
same machine, and written to `docs/benchmarks.md`:

1. grant evaluation against Cedar (`cedarpy`) on the same grants as Cedar policies;
2. a governed `create_issue` through the whole gateway against a bare MCP server doing
   the same sandbox write, with the database round trips of a governed call by step;
3. the governed call on a database holding 10⁶ audit events and 10⁵ tokens against an
   empty one.

Servers run as subprocesses on 127.0.0.1; PostgreSQL is the one the tests use
(`NODEDC_TEST_DATABASE_URL`, default `postgresql+psycopg://postgres@127.0.0.1:5432/test`),
where each part makes its own databases and drops them afterwards.
"""
