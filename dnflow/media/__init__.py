"""Media shared by a search's posts: downloading them (settings, store, fetch, job) and
matching near-identical images."""
