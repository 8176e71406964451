"""The engine's ports on real I/O: ``cpython`` (tests, tools, servers) and ``pyodide`` (the
browser). Import the one you need; neither is imported by the core."""
