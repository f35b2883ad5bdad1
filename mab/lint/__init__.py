"""`mab lint`: find what makes a Dockerfile cache-hostile, and fix it with minimal edits."""
