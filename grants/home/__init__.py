"""The signed-in person's home page: what waits for them, by role."""
