"""The Pulumi program of ray-platform: typed stack config and the composition root."""
