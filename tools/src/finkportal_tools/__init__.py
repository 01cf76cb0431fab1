"""finkportal package."""
