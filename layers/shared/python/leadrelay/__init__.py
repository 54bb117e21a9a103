"""LeadRelay: capture every lead, tag its source, put it on the right salesperson's phone."""

__version__ = "0.1.0"
