"""provisync demo: the whole product on one machine, with data and real targets."""
