"""The review queue in the browser (issue 12): routes, templates/, static/; it calls the review service, never SQL of its own."""
