"""The local image store: an OCI image layout with atomic writes, a ref lock, leases, gc, fsck, archive save/load.
Imports oci/, tario/, compression and the leaves; never registry/, imagecache/, build/ or cli/."""

from sealer.store.layout import BlobWriter, Lease, Store, StoredImage, StoredRef

__all__ = ["BlobWriter", "Lease", "Store", "StoredImage", "StoredRef"]
