"""Routing: rule chains, eligibility, strategies, and the router that commits decisions."""
