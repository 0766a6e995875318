"""The benchmark (`make bench`) and its development tools; never installed in production."""
