"""The demo: a real SCIM 2.0 target and demo data served by the ``provisync demo`` process."""
