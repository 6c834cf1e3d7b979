"""The Charts panel: linked column charts that cross-filter the map, the table and each other."""
