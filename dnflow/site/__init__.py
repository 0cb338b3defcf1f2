"""The static site: pages, index, compare page, feed (see render.py)."""
