"""Models trained on outcomes (issue 13): training, calibration, the registry, explanations, drift."""
