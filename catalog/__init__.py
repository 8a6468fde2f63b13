"""Leaf data and rules shared by every layer: instance and machine catalogues, versions, tag and label
rules, and the names the platform gives to labels, ports and resources. Imports nothing of the project."""
