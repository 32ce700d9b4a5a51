"""The admin console: static HTML, CSS and JavaScript modules on the public GraphQL API."""
