"""The images a cluster image carries: what its ``registry/`` holds, read from the layers whatever built them
(sealer v0.5-v0.9, sealer-py), the union a build records, and the check ``sealer verify`` runs.
Imports the store, ``interop`` and the cached-image checker (``registry.cache_verify``); imported only by the
CLI, ``images`` and the lite stage (``build.lite``) — never by ``registry``."""
