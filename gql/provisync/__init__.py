"""provisync's GraphQL backend: the Starlette app, the Strawberry schema, the engine and store."""
