"""Human review: the review service the CLI (and the coming web queue, review/web/) calls."""
