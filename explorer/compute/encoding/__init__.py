"""Encoding files with ONNX embedding models, offline: model folders, text and image encoders,
the catalogue of models that can be installed from Python packages, and the encode pipeline.

runtime.py is the only importer of onnxruntime (its telemetry is switched off before the
import) and makes every session; model_config.py reads a folder's untrusted settings;
pipeline.py runs a job, work_folder.py keeps its resumable work and job_lock.py lets one
run at a time use it."""
