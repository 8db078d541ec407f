"""sealer build: Kubefile -> steps (dispatch table, cache keys) -> layers -> lite stage -> cluster image in the store.
May import every library package; must not import cli/ (it reports through sealer.progress)."""
