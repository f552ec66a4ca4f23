"""Developer tools: the command line, the dev server, runs launched through a code location, a local PostgreSQL."""
