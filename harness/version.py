"""The harness version: recorded in every manifest, and checked across the nodes of a Ray cluster."""

__version__ = "0.1.0"
