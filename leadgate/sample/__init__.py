"""The synthetic data generator: journeys, vocabulary, and the bundled sample's writer."""
