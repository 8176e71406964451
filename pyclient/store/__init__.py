"""The client's stored values: key names, the versioned formats of event logs and sync
metadata, and :class:`~pyclient.store.local_store.LocalStore`, which reads and writes them."""
