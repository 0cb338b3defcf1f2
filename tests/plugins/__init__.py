"""Plugin modules the tests register through DNFLOW_PLUGINS or dnflow.registry: each is
what a third party would write, and nothing outside tests/ names them."""
