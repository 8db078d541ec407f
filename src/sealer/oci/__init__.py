"""Pure OCI model: media types, descriptors, manifests, indexes, image configs; tar helpers."""
