"""Repositories over DynamoDB. Nothing above this package (and `events/`) imports boto3."""
