"""A Lambda context object for handlers invoked by the local stack."""

from __future__ import annotations

import time
import uuid

from leadrelay.definitions import FUNCTION_TIMEOUT_S
from leadrelay.local.aws import ACCOUNT_ID, REGION


class LocalLambdaContext:
    """What Powertools' `inject_lambda_context` and friends read from the real context."""

    def __init__(self, function_name: str, *, memory_limit_in_mb: int = 512, timeout_seconds: float | None = None):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        if timeout_seconds is None:  # the deployed function's timeout (`leadrelay-local-followup` → 60 s)
            short = function_name.rsplit("-", 1)[-1]
            timeout_seconds = FUNCTION_TIMEOUT_S.get(short, 30)
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
