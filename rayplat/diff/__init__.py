"""Plan diffs for pull requests: what a change does to a stack, and what a reviewer must not miss."""
