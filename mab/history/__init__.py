"""Build history and why a step missed the cache.

record (the build record and its JSON codec), plan + fingerprint + dockerignore (each step's
inputs fingerprint), why (the cause of each miss, pure), store (the SQLite database and its
typed query API, see its docstring), capture (a finished build to a record), remote (the record
beside a registry cache), session (what every `mab build` does with all of it).
"""
