"""Media shared by a search's posts: downloading them (settings, store, fetch, images, job),
perceptual hashes of images (``hashes``), near-duplicate groups found without comparing
every pair (``groups``) and the demo source's generated images (``demo_images``)."""
