"""Inference: ONNX export of encoder and scorer, the torch-free ONNX Runtime predictor, batch pre-labelling."""
