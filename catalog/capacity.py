"""How many GPUs a node pool reaches: the one rule every layer (config, pools, diff, policies) counts by."""


def max_gpus(max_nodes: int, gpus_per_node: int) -> int:
    """The most GPUs a pool holds: its maximum node count times the GPUs of one node."""
    return max_nodes * gpus_per_node
