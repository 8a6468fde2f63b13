"""Resource options shared by every component."""

from __future__ import annotations

import pulumi


def child_options(
    parent: pulumi.Resource, provider: pulumi.ProviderResource | None, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """Options for a component's children. The engine does not make children wait for what their parent
    depends on, so the component's ``depends_on`` is handed down to each child explicitly."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=opts.depends_on if opts else None)


def require(value, what: str):
    """Fail loudly where a provider-computed value that the program needs is missing."""
    if value in (None, "", [], {}):
        raise ValueError(f"{what} is missing: the provider returned no value")
    return value
