"""The gateway's GraphQL schema, one module per service (see `schema`)."""
