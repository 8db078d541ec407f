"""Pure OCI model: media types, descriptors, manifests, indexes, labels (every io.sealer.* name), assembly.
Imports only digest/errors: no I/O, no other package of ours (an import-linter contract)."""
