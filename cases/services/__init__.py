"""Services: every write of the domain goes through one of these functions (named `<entity>_<verb>`)."""
