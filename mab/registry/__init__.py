"""The container registry: references, manifests, auth, per-platform cache tags (`cacherefs`),
Docker credentials, and the one module that speaks HTTP (`client`)."""
