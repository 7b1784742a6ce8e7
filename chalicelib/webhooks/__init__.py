"""GitHub's webhooks, with polling as the safety net: `route` (the API Gateway route: signature, size, onto the
queue, within GitHub's 10 s), `apply` (the queue's consumer: each delivery stored once, through the same entities
as the polling jobs) and `redeliver` (`daily` asks GitHub again for the deliveries that failed, which GitHub never
retries by itself)."""

from .apply import HANDLED_EVENTS, apply_messages
from .route import receive

__all__ = ["HANDLED_EVENTS", "apply_messages", "receive"]
