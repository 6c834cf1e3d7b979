"""Encoding files with ONNX embedding models, offline: model folders, text and image encoders,
the catalogue of models that can be installed from Python packages, and the encode pipeline."""
