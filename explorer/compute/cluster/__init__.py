"""Jobs handed to a Ray cluster (the `cluster` extra): encoding and index building.

Ray is imported only inside functions, so the rest of the app, the bundle and every
Ray-free test run without it; `ray_available()` says why the engine is missing.
"""
