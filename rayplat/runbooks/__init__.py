"""The runbooks a machine can run (`rayplat runbook ...`): the smoke test of a Ray cluster and the AWS audit.

Each pairs with a page in docs/runbooks/ and reports timed steps, on the console and as JSON.
"""
