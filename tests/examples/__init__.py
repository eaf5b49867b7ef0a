"""The adapter examples of docs/contracts.md, as runnable files (a test keeps the two equal)."""
