"""sealer build: Kubefile -> planned steps (with cache keys) -> layers -> cluster image in the store."""
