"""provisync's API layer: the Starlette app, the Strawberry schema, its types, mutations,
loaders, HTTP security and the web console. It depends on the core (engine, store,
settings, security) and the SDK; nothing in the core imports it."""
