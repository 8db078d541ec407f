"""The images a cluster image carries: what its ``registry/`` holds, read from the layers whatever built them
(sealer v0.5-v0.9, sealer-py), the union a build records, and the check ``sealer verify`` runs.
Imports the store, ``interop`` and the cached-image checker; nothing imports it but the CLI, ``images``,
the lite stage and ``registry.cache`` (re-export of ``verify_image``)."""
