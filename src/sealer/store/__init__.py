"""The local image store: an OCI image layout with atomic writes, a ref lock, leases and gc."""

from sealer.store.layout import BlobWriter, Lease, Store, StoredImage, StoredRef

__all__ = ["BlobWriter", "Lease", "Store", "StoredImage", "StoredRef"]
