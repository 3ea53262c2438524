"""Graph passes: each a small function Graph -> Graph (see slimgen.pipeline for the order)."""
