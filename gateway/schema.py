"""The GraphQL schema (built in gateway/graphql/): what the app and `govperf export-schema`
import."""

from gateway.graphql.schema import ComponentHealth, build_schema

__all__ = ["ComponentHealth", "build_schema"]
