"""REST API routes, one router per resource, included into one resolver by `api_handler`."""
