"""Tar streams: the one deterministic layer-tar writer and the one safe extractor (OCI whiteouts, escapes, limits).
Imports only errors/; no store, registry, oci model or anything above."""
