"""Headless numerics (projections, index, concepts, compression, encoders). No Qt."""
