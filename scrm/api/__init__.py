"""The REST API under `/api/v1`: thin controllers and msgspec schemas, each resource in a module of its own."""
