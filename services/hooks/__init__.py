"""The webhook deliverer: follows the changes stream for every registered hook and POSTs each
wanted change as a CloudEvent signed per Standard Webhooks, in order, at least once, with
exponential backoff until the retry period ends, then parks it."""
