"""Training: heatmap losses, datasets for training, domain adaptation and the training loop."""
