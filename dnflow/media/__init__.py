"""Media shared by a search's posts: downloading them (``settings``, ``store``, ``fetch``,
``job``; offline for the demo: ``demo_fetch``), perceptual hashes of images (``hashes``),
near-duplicate groups found without comparing every pair (``groups``), a search's groups
job (``grouping``) and the demo source's generated images (``demo_images``)."""
