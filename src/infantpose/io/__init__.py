"""Readers and writers: images, videos and label formats (COCO, LabelMe, DeepLabCut)."""
