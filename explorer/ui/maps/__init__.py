"""What the map panel and the Compare panel both draw with: the canvas, the layered
image of a view, and the map a set reopens with."""
