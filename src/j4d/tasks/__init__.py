"""Tasks: what a model's output means (classification, segmentation): the loss and metrics."""
