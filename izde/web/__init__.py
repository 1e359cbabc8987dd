"""``izde serve``: the REST API, live alert feed, webhooks and the review console, over the same service."""
