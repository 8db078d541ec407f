"""The docker-distribution (registry v2) on-disk layout: paths, the reader and the writer of such a tree.
Imports only tario/ and the leaves; no registry client, no store, no image cache."""
