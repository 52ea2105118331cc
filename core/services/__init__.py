"""Use cases: each takes a session and an explicit actor, owns its rules, never commits for the caller
unless it is the outermost unit of work named in its docstring."""
